//! Fuzzes the whole per-record path: raw bytes → listing parse → screen.
//! Invariants: no panic, and every evidence span is the original text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rempart_core::{Gate, Listing};

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate::with_default_pack().expect("embedded pack compiles"))
}

fuzz_target!(|data: &[u8]| {
    // As a JSON record.
    if let Ok(listing) = Listing::from_json(data) {
        let _ = gate().screen(&listing);
    }
    // As raw title text.
    if let Ok(text) = std::str::from_utf8(data) {
        let listing = Listing::new("fuzz", text);
        let decision = gate().screen(&listing);
        for m in &decision.matches {
            for e in &m.evidence {
                assert_eq!(text.get(e.start..e.end), Some(e.text.as_str()));
            }
        }
    }
});
