//! The crate's folders are layers: `capi` (exported symbols) over `core`
//! (backend-independent rules) over `backend` (the backends) over `sys`
//! (system-call wrappers), with `abi.rs` (the C types) beneath them all. A
//! module may name modules of its own folder or of a lower layer, never of
//! a higher one, so no import cycle can run between folders. Besides,
//! `capi` names no backend (it calls `core`), `core` reaches a backend
//! only through the interface in `backend/mod.rs`, and one backend never
//! names another.
//!
//! This reads the sources (comments stripped) for `crate::` paths, the
//! grouped `use crate::{a, b}` form included, and for `super::super`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn rank(top: &str) -> Option<u32> {
    match top {
        "abi" => Some(0),
        "sys" => Some(1),
        "backend" => Some(2),
        "core" => Some(3),
        "capi" => Some(4),
        _ => None,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments (line comments, doc comments and block
/// comments); string contents are kept, which is harmless here.
fn strip_comments(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && i + 1 < b.len() {
                out.push(' ');
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            out.push(if c == b'\n' { '\n' } else { ' ' });
            i += 1;
            continue;
        }
        if c == b'"' {
            in_str = true;
            out.push(' ');
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every path `crate::a::b::...` named in `src`, as its segments (up to
/// three); a group `crate::{x, y::z}` gives one path per member.
fn crate_paths(src: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 7..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                out.push(segments(member.trim()));
            }
        } else {
            out.push(segments(rest));
        }
    }
    out
}

fn segments(mut s: &str) -> Vec<String> {
    let mut v = Vec::new();
    while v.len() < 3 {
        let id = ident_at(s);
        if id.is_empty() {
            break;
        }
        s = &s[id.len()..];
        v.push(id);
        match s.strip_prefix("::") {
            Some(r) => s = r,
            None => break,
        }
    }
    v
}

#[test]
fn folders_are_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap();
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let top = parts[0].as_str();
        if top == "lib" || top == "layering" {
            continue;
        }
        let mine = rank(top).unwrap_or_else(|| panic!("{}: not in a known folder", rel.display()));
        let src = strip_comments(&fs::read_to_string(f).unwrap());
        if src.contains("super::super") {
            bad.push(format!(
                "{}: super::super (name the layer with crate::)",
                rel.display()
            ));
        }
        for p in crate_paths(&src) {
            let Some(first) = p.first() else { continue };
            let Some(theirs) = rank(first) else {
                bad.push(format!(
                    "{}: crate::{} is in no layer",
                    rel.display(),
                    first
                ));
                continue;
            };
            if theirs > mine {
                bad.push(format!(
                    "{}: names crate::{} (a higher layer)",
                    rel.display(),
                    p.join("::")
                ));
            }
            // capi calls core, never a backend; core reaches a backend only
            // through the interface (`crate::backend::get()`).
            if top == "capi" && first == "backend" {
                bad.push(format!(
                    "{}: names crate::{} (capi calls core)",
                    rel.display(),
                    p.join("::")
                ));
            }
            if top == "core"
                && first == "backend"
                && p.len() > 1
                && fs::metadata(root.join("backend").join(&p[1])).is_ok_and(|m| m.is_dir())
            {
                bad.push(format!(
                    "{}: names crate::{} (core uses the backend interface only)",
                    rel.display(),
                    p.join("::")
                ));
            }
            // Inside backend/: no backend names another.
            if top == "backend" && first == "backend" && p.len() > 1 {
                let here = if parts.len() > 2 {
                    Some(parts[1].as_str())
                } else {
                    None
                };
                let there = p[1].as_str();
                let is_backend =
                    fs::metadata(root.join("backend").join(there)).is_ok_and(|m| m.is_dir());
                if is_backend && here.is_some_and(|h| h != there) {
                    bad.push(format!(
                        "{}: names another backend, crate::{}",
                        rel.display(),
                        p.join("::")
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

/// The import graph between the files of the userspace backend (and of
/// any subfolder of it), printed (run with `--nocapture`): calls go
/// downward only, so no two files may reach each other (ARCHITECTURE.md
/// gives the order, lowest first).
#[test]
fn user_backend_file_graph() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend/user");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let names: BTreeSet<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = f.file_stem().unwrap().to_string_lossy().to_string();
        let src = strip_comments(&fs::read_to_string(f).unwrap());
        let mut deps = BTreeSet::new();
        let mut rest = src.as_str();
        while let Some(at) = rest.find("super::") {
            rest = &rest[at + 7..];
            let ids: Vec<String> = match rest.strip_prefix('{') {
                Some(g) => g[..g.find('}').unwrap_or(g.len())]
                    .split(',')
                    .map(|m| ident_at(m.trim()))
                    .collect(),
                None => vec![ident_at(rest)],
            };
            for id in ids {
                if names.contains(&id) && id != me {
                    deps.insert(id);
                }
            }
        }
        // The same files named from the crate root (a subfolder may).
        let mut rest = src.as_str();
        while let Some(at) = rest.find("backend::user::") {
            rest = &rest[at + 15..];
            let id = ident_at(rest);
            if names.contains(&id) && id != me {
                deps.insert(id);
            }
        }
        graph.insert(me, deps);
    }
    for (k, v) in &graph {
        println!("backend/user/{k} -> {v:?}");
    }
    // Files that reach each other (a cycle between them).
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for d in graph.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut cycles = Vec::new();
    for k in graph.keys() {
        if done.contains(k) {
            continue;
        }
        let r = reach(k);
        let scc: BTreeSet<String> = graph
            .keys()
            .filter(|o| {
                *o == k && r.contains(k) || *o != k && r.contains(*o) && reach(o).contains(k)
            })
            .cloned()
            .collect();
        if scc.len() > 1 {
            println!("cycle among: {scc:?}");
            cycles.push(format!("{scc:?}"));
        }
        done.extend(scc);
    }
    assert!(
        cycles.is_empty(),
        "import cycle between files of backend/user/: {}",
        cycles.join(", ")
    );
}
