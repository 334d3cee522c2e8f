//! The default pack is embedded from `policies/` with `include_dir`, which
//! does not tell cargo about the folder: without this, adding or editing a
//! policy file would leave a stale pack in the binary.
fn main() {
    println!("cargo:rerun-if-changed=../../policies");
}
