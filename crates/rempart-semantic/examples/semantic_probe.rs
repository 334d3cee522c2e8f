//! Prints, for each listing of a JSONL file, its lexical verdict, whether
//! the cascade sends it to the model, and its similarity to every watched
//! policy's nearest exemplar (all policies, candidate or not): the raw
//! material for choosing thresholds and candidates.
//!
//!     cargo run -p rempart-semantic --example semantic_probe -- LISTINGS.jsonl

use std::io::BufRead;
use std::sync::Arc;

use rempart_core::{ExternalSignals, Gate, Listing};
use rempart_semantic::{Model, SemanticStage};

fn main() {
    let path = std::env::args().nth(1).expect("usage: semantic_probe LISTINGS.jsonl");
    let gate = Gate::with_default_pack().expect("default pack");
    let dir = std::env::var_os("REMPART_SEMANTIC_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .or_else(Model::default_dir)
        .expect("the semantic model (bash .ci/setup/40-model.sh)");
    let stage = SemanticStage::new(Arc::new(Model::load(&dir).expect("model loads")), gate.pack()).expect("exemplars");
    let all: Vec<usize> = (0..stage.watched().len()).collect();
    let file = std::fs::File::open(&path).expect("listings file");
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let Ok(listing) = Listing::from_json(line.as_bytes()) else { continue };
        let (decision, sets) = gate.screen_traced(&listing, &ExternalSignals::default());
        let candidates: Vec<&str> =
            stage.candidates(&decision, &sets).iter().map(|&i| stage.watched()[i].policy.as_str()).collect();
        let nearest = stage.compare(&SemanticStage::text_of(&listing), &all).expect("embeds");
        let sims: Vec<String> = nearest.iter().map(|n| format!("{}={:.3}", &n.policy[..5], n.similarity)).collect();
        println!(
            "{}\t{}\t[{}]\t{}\t{}",
            listing.id,
            decision.verdict,
            candidates.join(","),
            sims.join(" "),
            listing.title.chars().take(70).collect::<String>()
        );
    }
}
