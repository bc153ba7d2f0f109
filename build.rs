// Why: the C ABI promise is `libdoor.so.1`; cargo gives cdylibs no SONAME by
// default (rust-lang/cargo#5045), so we pass it to the linker ourselves.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdoor.so.1");
    println!("cargo:rerun-if-changed=build.rs");
}
