//! The semantic stage's costs on one core: what share of listings reach
//! the model, the model's latency per listing (p50, p99), its throughput,
//! and screening throughput lexical only vs with the stage.
//!
//!     cargo run --release -p rempart-semantic --example semantic_bench -- LISTINGS.jsonl
//!
//! (`python3 bench/corpus.py bench 100000 bench/out/bench.jsonl` makes the
//! benchmark corpus.) Runs on the calling thread only.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use rempart_core::{ExternalSignals, Gate, Listing};
use rempart_semantic::{Model, SemanticStage};

fn main() {
    let path = std::env::args().nth(1).expect("usage: semantic_bench LISTINGS.jsonl");
    let file = std::fs::File::open(&path).expect("listings file");
    let listings: Vec<Listing> = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| Listing::from_json(line.as_bytes()).ok())
        .collect();
    let gate = Gate::with_default_pack().expect("default pack");
    let dir = std::env::var_os("REMPART_SEMANTIC_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .or_else(Model::default_dir)
        .expect("the semantic model (bash .ci/setup/40-model.sh)");
    let model = Arc::new(Model::load(&dir).expect("model loads"));
    let stage = SemanticStage::new(model.clone(), gate.pack()).expect("exemplars embed");
    let none = ExternalSignals::default();

    // Lexical only.
    let t = Instant::now();
    let mut flagged = 0usize;
    for l in &listings {
        flagged += usize::from(gate.screen(l).verdict != rempart_core::Action::Allow);
    }
    let lexical = t.elapsed().as_secs_f64();

    // With the stage.
    let t = Instant::now();
    let (mut reached, mut fired) = (0usize, 0usize);
    let mut texts = Vec::new();
    for l in &listings {
        let s = stage.screen(&gate, l, &none);
        if s.reached_model {
            reached += 1;
            texts.push(SemanticStage::text_of(l));
        }
        fired += usize::from(s.nearest.iter().any(|n| n.fires()));
    }
    let with_stage = t.elapsed().as_secs_f64();

    // The model alone, on the texts that reached it.
    let mut latencies = Vec::with_capacity(texts.len());
    let t = Instant::now();
    for text in &texts {
        let one = Instant::now();
        let _ = model.embed(text).expect("embeds");
        latencies.push(one.elapsed().as_secs_f64() * 1e3);
    }
    let model_total = t.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    let n = listings.len() as f64;
    println!("listings                     {}", listings.len());
    println!("lexical flagged              {flagged}");
    println!("reached the model            {reached} ({:.2} %)", 100.0 * reached as f64 / n);
    println!("semantic signals fired       {fired}");
    println!("model latency p50 / p99      {:.2} ms / {:.2} ms (one core)", pct(0.5), pct(0.99));
    println!("model throughput             {:.0} texts/s (one core)", texts.len() as f64 / model_total.max(1e-9));
    println!("screen lexical only          {:.0} listings/s (one core)", n / lexical);
    println!(
        "screen with the stage        {:.0} listings/s (one core, {:+.1} %)",
        n / with_stage,
        100.0 * (lexical / with_stage - 1.0)
    );
}
