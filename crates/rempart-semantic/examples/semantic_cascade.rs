//! Prints the listings of a JSONL file that the cascade sends to the
//! model, with the policy and the candidate term sets that sent them
//! (and the fields they were found in): the material for tightening the
//! cascade. Needs no model.
//!
//!     cargo run --release -p rempart-semantic --example semantic_cascade -- LISTINGS.jsonl

use std::io::BufRead;

use rempart_core::{Action, ExternalSignals, Gate, Listing};

fn main() {
    let path = std::env::args().nth(1).expect("usage: semantic_cascade LISTINGS.jsonl");
    let gate = Gate::with_default_pack().expect("default pack");
    let pack = gate.pack();
    let none = ExternalSignals::default();
    let file = std::fs::File::open(&path).expect("listings file");
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let Ok(listing) = Listing::from_json(line.as_bytes()) else { continue };
        let (decision, sets) = gate.screen_traced(&listing, &none);
        if decision.verdict == Action::Block {
            continue;
        }
        for policy in &pack.policies {
            let Some(semantic) = &policy.semantic else { continue };
            let found: Vec<&str> = semantic
                .candidates
                .iter()
                .filter(|&&s| sets.contains(s))
                .map(|&s| pack.sets[s].name.as_str())
                .collect();
            if found.is_empty()
                || semantic.exclude.iter().any(|&s| sets.contains(s))
                || decision.matches.iter().any(|m| m.policy == policy.id && m.action >= Action::Review)
            {
                continue;
            }
            println!(
                "{}\t{}\t{}\t{}\t{}",
                policy.id,
                found.join(","),
                listing.id,
                listing.title.chars().take(90).collect::<String>(),
                listing.description.as_deref().unwrap_or("").chars().take(60).collect::<String>().replace('\n', " ")
            );
        }
    }
}
