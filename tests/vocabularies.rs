//! The generated vocabularies (policies/vocab/) are exactly what
//! policies/sources/generate.py makes from the committed data files: a
//! hand edit, or data changed without regenerating, fails here.

use std::process::Command;

#[test]
fn generated_term_sets_rebuild_byte_for_byte() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg("policies/sources/generate.py")
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("python3 runs policies/sources/generate.py");
    assert!(
        out.status.success(),
        "generate.py --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
