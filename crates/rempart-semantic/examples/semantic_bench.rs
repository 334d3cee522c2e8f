//! The semantic stage's costs on one core, in one run: how many listings
//! are candidates, how many the prefilter stops, how many reach the model
//! and how many of those the cache answers; the model's latency per
//! listing (p50, p99) and its throughput one text per call and in batches;
//! and screening throughput lexical only vs with the stage. Times are the
//! thread's CPU time (on a shared machine, wall time also counts other
//! processes' turns); wall figures are printed beside them.
//!
//!     cargo run --release -p rempart-semantic --example semantic_bench -- LISTINGS.jsonl [--no-prefilter]
//!
//! (`python3 bench/corpus.py bench 100000 F` makes the benchmark corpus,
//! `python3 bench/corpus.py benign DIR` the benign corpora.) The stage
//! pass is timed twice: from a fresh stage (its first candidates pay for
//! embedding the exemplars and reading the token table, a one-off of a
//! process) and from a prepared one (`SemanticStage::prepare`, the
//! steady state of a service); both start with an empty cache. Runs on the
//! calling thread only.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use rempart_core::{Action, ExternalSignals, Gate, Listing, Pack};
use rempart_semantic::{Model, SemanticStage};

/// CPU time of the calling thread, in ms.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Texts per engine call in the batch measurement.
const BATCH: usize = 16;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: semantic_bench LISTINGS.jsonl [--no-prefilter]");
    let no_prefilter = args.next().as_deref() == Some("--no-prefilter");
    let file = std::fs::File::open(&path).expect("listings file");
    let listings: Vec<Listing> = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| Listing::from_json(line.as_bytes()).ok())
        .collect();
    let mut pack = Pack::embedded().expect("default pack");
    if no_prefilter {
        for policy in &mut pack.policies {
            if let Some(semantic) = &mut policy.semantic {
                semantic.prefilter = None;
            }
        }
    }
    let gate = Gate::new(pack);
    let dir = std::env::var_os("REMPART_SEMANTIC_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .or_else(Model::default_dir)
        .expect("the semantic model (bash .ci/setup/40-model.sh)");
    let model = Arc::new(Model::load(&dir).expect("model loads"));
    let none = ExternalSignals::default();
    let n = listings.len() as f64;

    // Lexical only.
    let (cpu, wall) = (thread_cpu_ms(), Instant::now());
    let mut flagged = 0usize;
    for l in &listings {
        flagged += usize::from(gate.screen(l).verdict != Action::Allow);
    }
    let (lexical_cpu, lexical_wall) = ((thread_cpu_ms() - cpu) / 1e3, wall.elapsed().as_secs_f64());

    // With the stage: fresh, then prepared.
    let run = |prepared: bool| {
        let stage = SemanticStage::new(model.clone(), gate.pack()).expect("stage");
        let prepare_cpu = if prepared {
            let cpu = thread_cpu_ms();
            stage.prepare().expect("exemplars embed");
            (thread_cpu_ms() - cpu) / 1e3
        } else {
            0.0
        };
        let (cpu, wall) = (thread_cpu_ms(), Instant::now());
        let (mut texts, mut fired) = (Vec::new(), Vec::new());
        for l in &listings {
            let s = stage.screen(&gate, l, &none);
            if s.reached_model {
                texts.push(SemanticStage::text_of(l));
            }
            for n in s.nearest.iter().filter(|n| n.fires()) {
                fired.push(format!("{} {} {:.3} {:?}", l.id, n.policy, n.similarity, l.title));
            }
        }
        let (stage_cpu, stage_wall) = ((thread_cpu_ms() - cpu) / 1e3, wall.elapsed().as_secs_f64());
        (stage.counts(), texts, fired, stage_cpu, stage_wall, prepare_cpu)
    };
    let (counts, texts, fired, fresh_cpu, fresh_wall, _) = run(false);
    let (_, _, _, prepared_cpu, prepared_wall, prepare_cpu) = run(true);

    // The model alone, on the distinct texts that reached it.
    let mut distinct = texts.clone();
    distinct.sort();
    distinct.dedup();
    let mut latencies = Vec::with_capacity(distinct.len());
    let cpu = thread_cpu_ms();
    for text in &distinct {
        let one = thread_cpu_ms();
        let _ = model.embed(text).expect("embeds");
        latencies.push(thread_cpu_ms() - one);
    }
    let single_cpu = (thread_cpu_ms() - cpu) / 1e3;
    let cpu = thread_cpu_ms();
    for chunk in distinct.chunks(BATCH) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let _ = model.embed_batch(&refs).expect("embeds");
    }
    let batch_cpu = (thread_cpu_ms() - cpu) / 1e3;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    let share = |x: u64| 100.0 * x as f64 / n;
    println!("listings                     {}{}", listings.len(), if no_prefilter { " (prefilter off)" } else { "" });
    println!("lexical flagged              {flagged}");
    println!("candidates                   {} ({:.3} %)", counts.candidates, share(counts.candidates));
    println!("stopped by the prefilter     {} ({:.3} %)", counts.prefiltered, share(counts.prefiltered));
    println!("compared with exemplars      {} ({:.3} %)", counts.compared, share(counts.compared));
    println!(
        "  from the cache             {} (hit rate {:.1} %)",
        counts.cache_hits,
        100.0 * counts.cache_hits as f64 / counts.compared.max(1) as f64
    );
    println!("  model calls                {} ({:.3} % of listings)", counts.model_calls, share(counts.model_calls));
    println!("semantic signals fired       {}", fired.len());
    for f in &fired {
        println!("  {f}");
    }
    println!(
        "model latency p50 / p99      {:.2} ms / {:.2} ms (CPU, one core, {} distinct texts)",
        pct(0.5),
        pct(0.99),
        distinct.len()
    );
    println!(
        "model throughput             {:.1} texts/s one per call, {:.1} texts/s in batches of {BATCH} (CPU, one core)",
        distinct.len() as f64 / single_cpu.max(1e-9),
        distinct.len() as f64 / batch_cpu.max(1e-9)
    );
    println!("screen lexical only          {:.0} listings/s CPU ({:.0} wall)", n / lexical_cpu, n / lexical_wall);
    println!(
        "screen with the stage, fresh {:.0} listings/s CPU ({:.0} wall), {:+.1} % CPU time",
        n / fresh_cpu,
        n / fresh_wall,
        100.0 * (fresh_cpu / lexical_cpu - 1.0)
    );
    println!(
        "  prepared (steady state)    {:.0} listings/s CPU ({:.0} wall), {:+.1} % CPU time (prepare: {:.2} s CPU once)",
        n / prepared_cpu,
        n / prepared_wall,
        100.0 * (prepared_cpu / lexical_cpu - 1.0),
        prepare_cpu
    );
}
