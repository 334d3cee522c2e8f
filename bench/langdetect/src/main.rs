//! Accuracy and speed of whatlang and lingua on short product names whose
//! language is declared (the open food facts sample: fr, de, es, it, nl, pl).
//! A declared language is a lower bound on accuracy: some French products
//! carry English or brand names.

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("path to openfoodfacts_eu_sample.csv");
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let rows: Vec<(String, String)> = reader
        .records()
        .filter_map(Result::ok)
        .map(|r| (r[1].to_string(), r[2].to_string()))
        .filter(|(_, name)| !name.trim().is_empty())
        .collect();
    let n = rows.len() as f64;
    let iso1 = |code: &str| {
        match code {
            "fra" => "fr",
            "deu" => "de",
            "spa" => "es",
            "ita" => "it",
            "nld" => "nl",
            "pol" => "pl",
            _ => "?",
        }
        .to_string()
    };

    use whatlang::Lang::*;
    for (label, detector) in [
        ("whatlang, all languages", whatlang::Detector::new()),
        (
            "whatlang, EU languages",
            whatlang::Detector::with_allowlist(vec![
                Bul, Ces, Dan, Deu, Ell, Eng, Spa, Est, Fin, Fra, Hrv, Hun, Ita, Lit, Lav, Nld, Pol, Por, Ron, Slk,
                Slv, Swe,
            ]),
        ),
    ] {
        let start = Instant::now();
        let (mut right, mut confident, mut confident_right) = (0, 0, 0);
        for (lang, name) in &rows {
            if let Some(info) = detector.detect(name) {
                let ok = iso1(info.lang().code()) == *lang;
                right += usize::from(ok);
                if info.confidence() >= 0.5 {
                    confident += 1;
                    confident_right += usize::from(ok);
                }
            }
        }
        let per = start.elapsed().as_secs_f64() / n * 1e6;
        println!(
            "{label}: {} names, accuracy {:.3}; confidence >= 0.5 on {:.3} of names, accuracy there {:.3}; {per:.0} µs per name",
            rows.len(),
            right as f64 / n,
            confident as f64 / n,
            confident_right as f64 / confident.max(1) as f64
        );
    }

    #[cfg(feature = "lingua")]
    lingua_accuracy(&rows, n);
}

#[cfg(feature = "lingua")]
fn lingua_accuracy(rows: &[(String, String)], n: f64) {
    use lingua::{Language::*, LanguageDetectorBuilder};
    let languages = [
        English, French, German, Spanish, Italian, Dutch, Polish, Portuguese, Czech, Romanian, Swedish, Danish,
        Finnish, Hungarian, Greek, Bulgarian, Slovak, Slovene, Croatian, Lithuanian, Latvian, Estonian, Irish,
    ];
    for (label, low) in [("lingua, low accuracy", true), ("lingua, high accuracy", false)] {
        let builder = LanguageDetectorBuilder::from_languages(&languages);
        let detector = if low { builder.clone().with_low_accuracy_mode().build() } else { builder.clone().build() };
        let start = Instant::now();
        let right = rows
            .iter()
            .filter(|(lang, name)| {
                detector.detect_language_of(name).is_some_and(|l| l.iso_code_639_1().to_string() == *lang)
            })
            .count();
        let per = start.elapsed().as_secs_f64() / n * 1e6;
        println!("{label}: accuracy {:.3}; {per:.0} µs per name (first call loads the models)", right as f64 / n);
    }
}
