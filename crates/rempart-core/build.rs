//! Build-time facts the library needs.
//!
//! 1. The default pack is embedded from `policies/` with `include_dir`. Only
//!    its `.toml` files are the pack: `policies/sources/` holds the data the
//!    vocabularies are generated from, which must not swell the binary. So
//!    the pack files are copied to `OUT_DIR/policies` and embedded from
//!    there, and cargo is told the folder is an input: without the
//!    `rerun-if-changed` below, adding or editing a policy file would leave
//!    a stale pack in the binary.
//! 2. Every decision names the engine that produced it (DESIGN.md, "The
//!    record"): the pack hash alone does not change when code or a
//!    dependency changes behaviour. The engine version is the crate version
//!    plus the git commit the binary was built from (`.dirty` when the
//!    working tree differed from it), or `REMPART_BUILD_COMMIT` when building
//!    outside a git checkout (a source tarball).
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Copies the `.toml` files under `from` (but not `sources/`) to `to`.
fn copy_pack(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the pack copy");
    let mut entries: Vec<_> =
        std::fs::read_dir(from).expect("read policies/").map(|e| e.expect("a directory entry").path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().expect("a file name");
        if path.is_dir() {
            if name != "sources" {
                copy_pack(&path, &to.join(name));
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, to.join(name)).expect("copy a pack file");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=../../policies");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-env-changed=REMPART_BUILD_COMMIT");

    let pack = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("policies");
    if pack.exists() {
        std::fs::remove_dir_all(&pack).expect("clear the previous pack copy");
    }
    copy_pack(Path::new("../../policies"), &pack);

    let commit = match std::env::var("REMPART_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => match git(&["rev-parse", "HEAD"]) {
            Some(head) => {
                // Rebuild when a commit is made or files are staged.
                if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
                    let dir = PathBuf::from(dir);
                    for f in ["HEAD", "index", "packed-refs"] {
                        println!("cargo:rerun-if-changed={}", dir.join(f).display());
                    }
                    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                        let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"])
                            .map(PathBuf::from)
                            .unwrap_or(dir);
                        println!("cargo:rerun-if-changed={}", common.join(r).display());
                    }
                }
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
                format!("{}{}", &head[..head.len().min(12)], if dirty { ".dirty" } else { "" })
            }
            None => "unknown".to_string(),
        },
    };
    println!("cargo:rustc-env=REMPART_ENGINE_COMMIT={commit}");
}
