//! The default pack is embedded from `policies/` with `include_dir`. Only its
//! `.toml` files are the pack: `policies/sources/` holds the data files the
//! vocabularies are generated from, which must not swell the binary. So the
//! pack files are copied to `OUT_DIR/policies` and embedded from there, and
//! cargo is told the folder is an input (else an edited policy would leave a
//! stale pack in the binary).
use std::path::Path;

fn main() {
    let source = Path::new("../../policies");
    println!("cargo:rerun-if-changed=../../policies");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("policies");
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("clear the copied pack");
    }
    copy_toml(source, &out);
}

fn copy_toml(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the pack copy");
    let mut entries: Vec<_> = std::fs::read_dir(from).expect("read policies/").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().expect("a file name");
        if path.is_dir() {
            if name != "sources" {
                copy_toml(&path, &to.join(name));
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, to.join(name)).expect("copy a pack file");
        }
    }
}
