//! A few lines of JSON output (no serde: the command prints flat records).

use std::fmt::Write;

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// An object, built field by field.
#[derive(Default)]
pub struct Obj(Vec<String>);

impl Obj {
    pub fn new() -> Obj {
        Obj::default()
    }
    pub fn str(mut self, k: &str, v: &str) -> Obj {
        self.0.push(format!("{}:{}", esc(k), esc(v)));
        self
    }
    pub fn num<T: std::fmt::Display>(mut self, k: &str, v: T) -> Obj {
        self.0.push(format!("{}:{}", esc(k), v));
        self
    }
    pub fn raw(mut self, k: &str, json: &str) -> Obj {
        self.0.push(format!("{}:{}", esc(k), json));
        self
    }
    pub fn list(self, k: &str, items: &[String]) -> Obj {
        let j = format!("[{}]", items.join(","));
        self.raw(k, &j)
    }
    pub fn done(self) -> String {
        format!("{{{}}}", self.0.join(","))
    }
}
