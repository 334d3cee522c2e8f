//! The semantic stage's costs on one core: what share of listings reach
//! the model, the model's latency per listing (p50, p99), its throughput,
//! and screening throughput lexical only vs with the stage. Times are the
//! thread's CPU time (on a shared machine, wall time also counts other
//! processes' turns); wall figures are printed beside them.
//!
//!     cargo run --release -p rempart-semantic --example semantic_bench -- LISTINGS.jsonl
//!
//! (`python3 bench/corpus.py bench 100000 F` makes the benchmark corpus,
//! `python3 bench/corpus.py benign DIR` the benign corpora.) Runs on the
//! calling thread only.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use rempart_core::{Action, ExternalSignals, Gate, Listing};
use rempart_semantic::{Model, SemanticStage};

/// CPU time of the calling thread, in ms.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

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
    let (cpu, wall) = (thread_cpu_ms(), Instant::now());
    let mut flagged = 0usize;
    for l in &listings {
        flagged += usize::from(gate.screen(l).verdict != Action::Allow);
    }
    let (lexical_cpu, lexical_wall) = ((thread_cpu_ms() - cpu) / 1e3, wall.elapsed().as_secs_f64());

    // With the stage.
    let (cpu, wall) = (thread_cpu_ms(), Instant::now());
    let (mut reached, mut fired) = (0usize, Vec::new());
    let mut texts = Vec::new();
    for l in &listings {
        let s = stage.screen(&gate, l, &none);
        if s.reached_model {
            reached += 1;
            texts.push(SemanticStage::text_of(l));
        }
        for n in s.nearest.iter().filter(|n| n.fires()) {
            fired.push(format!("{} {} {:.3} {:?}", l.id, n.policy, n.similarity, l.title));
        }
    }
    let (stage_cpu, stage_wall) = ((thread_cpu_ms() - cpu) / 1e3, wall.elapsed().as_secs_f64());

    // The model alone, on the texts that reached it.
    let mut latencies = Vec::with_capacity(texts.len());
    let cpu = thread_cpu_ms();
    for text in &texts {
        let one = thread_cpu_ms();
        let _ = model.embed(text).expect("embeds");
        latencies.push(thread_cpu_ms() - one);
    }
    let model_cpu = (thread_cpu_ms() - cpu) / 1e3;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    let n = listings.len() as f64;
    println!("listings                     {}", listings.len());
    println!("lexical flagged              {flagged}");
    println!("reached the model            {reached} ({:.2} %)", 100.0 * reached as f64 / n);
    println!("semantic signals fired       {}", fired.len());
    for f in &fired {
        println!("  {f}");
    }
    println!("model latency p50 / p99      {:.2} ms / {:.2} ms (CPU, one core)", pct(0.5), pct(0.99));
    println!("model throughput             {:.1} texts/s (CPU, one core)", texts.len() as f64 / model_cpu.max(1e-9));
    println!("screen lexical only          {:.0} listings/s CPU ({:.0} wall)", n / lexical_cpu, n / lexical_wall);
    println!(
        "screen with the stage        {:.0} listings/s CPU ({:.0} wall), {:+.1} % CPU time",
        n / stage_cpu,
        n / stage_wall,
        100.0 * (stage_cpu / lexical_cpu - 1.0)
    );
}
