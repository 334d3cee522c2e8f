//! Fuzzes the whole per-record path: raw bytes → listing parse → screen.
//! Invariants: no panic, every evidence span is the original text of the
//! field it names (title, description or attribute value), the fast
//! text path decides exactly as the reference path (issue 14), and a
//! record read into the strings of listings given back before
//! (`Listing::recycle`, as `rempart screen` gives them back) reads the
//! same.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rempart_core::{ExternalSignals, Gate, Listing};

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate::with_default_pack().expect("embedded pack compiles"))
}

fuzz_target!(|data: &[u8]| {
    // As a JSON record: evidence in any text field points into that field.
    if let Ok(listing) = Listing::from_json(data) {
        listing.clone().recycle();
        assert_eq!(Listing::from_json(data).as_ref(), Ok(&listing), "read again into its own strings");
        let decision = gate().screen(&listing);
        // Issue 14: the fast text path decides as the reference path.
        let reference = gate().screen_reference(&listing, &ExternalSignals::default());
        assert_eq!(format!("{decision:?}"), format!("{reference:?}"), "fast and reference paths differ");
        for m in &decision.matches {
            for e in &m.evidence {
                let field = match e.field.as_str() {
                    "title" => Some(listing.title.as_str()),
                    "description" => listing.description.as_deref(),
                    "category" => listing.category.as_deref(),
                    f => f.strip_prefix("attributes.").and_then(|key| {
                        listing.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
                    }),
                };
                if let Some(field) = field {
                    assert_eq!(field.get(e.start..e.end), Some(e.text.as_str()), "{e:?}");
                }
            }
        }
        // The next input is read into this one's strings.
        listing.recycle();
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
