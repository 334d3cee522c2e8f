//! Build-time facts the library needs.
//!
//! 1. The default pack is embedded from `policies/` with `include_dir`,
//!    which does not tell cargo about the folder: without the
//!    `rerun-if-changed` below, adding or editing a policy file would leave
//!    a stale pack in the binary.
//! 2. Every decision names the engine that produced it (DESIGN.md, "The
//!    record"): the pack hash alone does not change when code or a
//!    dependency changes behaviour. The engine version is the crate version
//!    plus the git commit the binary was built from (`.dirty` when the
//!    working tree differed from it), or `REMPART_BUILD_COMMIT` when building
//!    outside a git checkout (a source tarball).
use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=../../policies");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-env-changed=REMPART_BUILD_COMMIT");

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
