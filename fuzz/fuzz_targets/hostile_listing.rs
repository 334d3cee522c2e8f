//! Structure-aware fuzzing of the hostile inputs of issue 13: listings
//! built from pieces a hostile seller uses (terms, sizes, Unicode spaces,
//! invisible characters, bidirectional controls, duplicate keys, numeric
//! ids), with the normaliser's contract checked on each:
//!
//! * a record with a key given twice, or a non-integer numeric id, is
//!   refused; any other record parses and screens without panicking, and
//!   every evidence span is the original text;
//! * replacing ASCII spaces by any other `White_Space` character changes
//!   neither the canonical words, nor the quantities read, nor the verdict;
//! * inserting `Default_Ignorable_Code_Point` characters (other than
//!   bidirectional controls) anywhere changes neither the canonical words
//!   nor the quantities, and never makes a verdict less strict.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use rempart_core::extract::{extract, HeightContext};
use rempart_core::normalize::Folded;
use rempart_core::{Gate, Listing};

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate::with_default_pack().expect("embedded pack compiles"))
}

const WORDS: &[&str] = &[
    "sex", "doll", "poupée", "sexuelle", "loli", "silicone", "100", "1m05", "cm", "mW", "5000", "laser", "pointeur",
    "poing", "américain", "10", "000", "puff", "9000", "taffes", "ans", "8", "mug", "tasse", "s3x", "d0ll", "x",
    "1,5", "W", "ml", "spray", "age", "12", "-", ".", "'", "\"",
];
const SPACES: &[char] = &[
    '\t', '\u{B}', '\u{C}', '\u{85}', '\u{A0}', '\u{1680}', '\u{2000}', '\u{2003}', '\u{2007}', '\u{2009}', '\u{200A}',
    '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}', '\u{3000}',
];
const INVISIBLE: &[char] = &[
    '\u{AD}', '\u{34F}', '\u{115F}', '\u{1160}', '\u{17B4}', '\u{180E}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}',
    '\u{2063}', '\u{3164}', '\u{FE0F}', '\u{FEFF}', '\u{FFA0}', '\u{1BCA0}', '\u{E0041}',
];
const BIDI: &[char] = &['\u{61C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'];

#[derive(Arbitrary, Debug)]
enum Piece {
    Word(u8),
    Space,
    Glue,
    Bidi(u8),
    Char(char),
}

#[derive(Arbitrary, Debug)]
enum Id {
    Text(u8),
    Integer(i64),
    Float(f32),
    Blank(u8),
}

#[derive(Arbitrary, Debug)]
struct Hostile {
    id: Id,
    title: Vec<Piece>,
    description: Vec<Piece>,
    duplicate: Option<u8>,
    /// Where to put other spaces and invisible characters, and which.
    spaces: Vec<(u8, u8)>,
    invisible: Vec<(u16, u8)>,
}

fn text(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces.iter().take(64) {
        match piece {
            Piece::Word(w) => out.push_str(WORDS[*w as usize % WORDS.len()]),
            Piece::Space => out.push(' '),
            Piece::Glue => {}
            Piece::Bidi(b) => out.push(BIDI[*b as usize % BIDI.len()]),
            Piece::Char(c) => out.push(*c),
        }
    }
    out
}

fn quantities(text: &str) -> Vec<(String, u64)> {
    extract(text, HeightContext::Always).iter().map(|q| (q.kind.name().to_string(), q.value.to_bits())).collect()
}

fn check_evidence(listing: &Listing) -> rempart_core::Action {
    let decision = gate().screen(listing);
    for m in &decision.matches {
        for e in &m.evidence {
            let field = match e.field.as_str() {
                "title" => &listing.title,
                "description" => listing.description.as_deref().unwrap_or_default(),
                _ => continue,
            };
            assert_eq!(field.get(e.start..e.end), Some(e.text.as_str()), "{e:?}");
        }
    }
    decision.verdict
}

fuzz_target!(|input: Hostile| {
    let title = text(&input.title);
    let description = text(&input.description);
    let (id_json, id_ok) = match &input.id {
        Id::Text(n) => (format!("\"L-{n}\""), true),
        Id::Integer(n) => (n.to_string(), true),
        Id::Float(f) if f.is_finite() => (format!("{f:?}"), false),
        Id::Float(_) => ("1.5".to_string(), false),
        Id::Blank(n) => (format!("\"{}\"", [" ", "\\u00a0", "\\u200b", "\\t"][*n as usize % 4].repeat(1 + *n as usize % 3)), false),
    };
    let json_text = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let mut record = format!("{{\"id\":{id_json},\"title\":{},\"description\":{}", json_text(&title), json_text(&description));
    if let Some(which) = input.duplicate {
        let key = ["title", "id", "description", "x"][which as usize % 4];
        record.push_str(&format!(",\"{key}\":\"again\",\"{key}\":\"twice\""));
    }
    record.push('}');
    let parsed = Listing::from_json(record.as_bytes());
    if input.duplicate.is_some() || !id_ok {
        assert!(parsed.is_err(), "accepted {record}");
        return;
    }
    let Ok(listing) = parsed else { return };
    let verdict = check_evidence(&listing);

    // Other White_Space characters in place of ASCII spaces.
    let mut spaces = input.spaces.iter().cycle();
    let respaced: String = title
        .chars()
        .map(|c| match (c, spaces.next()) {
            (' ', Some(&(on, which))) if on % 2 == 0 => SPACES[which as usize % SPACES.len()],
            (c, _) => c,
        })
        .collect();
    assert_eq!(Folded::new(&respaced).as_str(), Folded::new(&title).as_str(), "{title:?} / {respaced:?}");
    assert_eq!(quantities(&respaced), quantities(&title), "{title:?} / {respaced:?}");
    let mut other = listing.clone();
    other.title = respaced;
    assert_eq!(check_evidence(&other), verdict);

    // Invisible characters anywhere.
    let mut hidden = title.clone();
    for &(at, which) in input.invisible.iter().take(8) {
        let mut at = at as usize % (hidden.len() + 1);
        while !hidden.is_char_boundary(at) {
            at -= 1;
        }
        hidden.insert(at, INVISIBLE[which as usize % INVISIBLE.len()]);
    }
    assert_eq!(Folded::new(&hidden).as_str(), Folded::new(&title).as_str(), "{title:?} / {hidden:?}");
    assert_eq!(quantities(&hidden), quantities(&title), "{title:?} / {hidden:?}");
    let mut other = listing;
    other.title = hidden;
    assert!(check_evidence(&other) >= verdict);
});
