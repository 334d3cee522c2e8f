//! Shared by the tests that read the real corpora in ../shared/data.

use std::path::{Path, PathBuf};
use std::process::Command;

use rempart_core::Listing;

/// `../shared/data`, when it is beside the repository.
pub fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.is_dir().then_some(dir)
}

/// The 68,252 benign listings of the shared corpora, as `bench/corpus.py
/// benign` maps them to the listing contract, in file order.
pub fn benign_listings(data: &Path) -> Vec<Listing> {
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new("python3")
        .arg("bench/corpus.py")
        .arg("benign")
        .arg(out.path())
        .env("REMPART_DATA", data)
        .status()
        .expect("python3 runs bench/corpus.py");
    assert!(status.success());
    let mut files: Vec<_> = std::fs::read_dir(out.path()).expect("dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut listings = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("jsonl");
        for line in text.lines() {
            listings.push(Listing::from_json(line.as_bytes()).expect("corpus rows are valid listings"));
        }
    }
    listings
}
