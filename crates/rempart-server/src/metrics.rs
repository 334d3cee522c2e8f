//! Prometheus metrics (text exposition format at `GET /metrics`).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use rempart_core::Decision;

pub struct Metrics {
    registry: Registry,
    pub decisions: IntCounterVec,
    pub matches: IntCounterVec,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub screening_seconds: HistogramVec,
    pub store: IntGaugeVec,
    pub writer: IntGaugeVec,
    pub audit_head_size: IntGauge,
    pub images_queued: IntGauge,
    pub heap: IntGaugeVec,
    pub disagreements: IntCounterVec,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Metric definitions are constants: a failure is a programming error
    // caught by the first test that starts a server.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let latency = vec![0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
        let decisions = must(IntCounterVec::new(
            Opts::new("rempart_decisions_total", "Decisions recorded, by verdict and origin"),
            &["verdict", "origin"],
        ));
        let matches = must(IntCounterVec::new(
            Opts::new("rempart_rule_matches_total", "Rule matches in recorded decisions, by policy and action"),
            &["policy", "action"],
        ));
        let requests = must(IntCounterVec::new(
            Opts::new("rempart_http_requests_total", "HTTP requests, by route and status"),
            &["route", "status"],
        ));
        let request_seconds = must(HistogramVec::new(
            HistogramOpts::new("rempart_http_request_duration_seconds", "HTTP request latency, by route")
                .buckets(latency.clone()),
            &["route"],
        ));
        let screening_seconds = must(HistogramVec::new(
            HistogramOpts::new("rempart_screening_duration_seconds", "Screening time per request, by gate")
                .buckets(latency),
            &["gate"],
        ));
        let store = must(IntGaugeVec::new(
            Opts::new("rempart_store_rows", "Rows in the store, by kind (refreshed on scrape)"),
            &["kind"],
        ));
        let writer = must(IntGaugeVec::new(
            Opts::new("rempart_writer_total", "Group-commit writer counters: commits, jobs, heads, failed_commits"),
            &["counter"],
        ));
        let audit_head_size = must(IntGauge::new("rempart_audit_head_size", "Size of the latest signed tree head"));
        let images_queued = must(IntGauge::new(
            "rempart_images_queued",
            "Listings downloading or waiting to download their images (refreshed on scrape)",
        ));
        let heap = must(IntGaugeVec::new(
            Opts::new(
                "rempart_heap_bytes",
                "The allocator's heap: in_use, free_held (freed, not yet returned), mmapped; sqlite: the part of in_use SQLite holds (page caches, statements) (refreshed on scrape)",
            ),
            &["kind"],
        ));
        let disagreements = must(IntCounterVec::new(
            Opts::new(
                "rempart_shadow_disagreements_total",
                "Listings the shadow pack decides otherwise, by shadow verdict",
            ),
            &["shadow_verdict"],
        ));
        for c in [
            Box::new(decisions.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(matches.clone()),
            Box::new(requests.clone()),
            Box::new(request_seconds.clone()),
            Box::new(screening_seconds.clone()),
            Box::new(store.clone()),
            Box::new(writer.clone()),
            Box::new(audit_head_size.clone()),
            Box::new(images_queued.clone()),
            Box::new(heap.clone()),
            Box::new(disagreements.clone()),
        ] {
            must(registry.register(c));
        }
        Metrics {
            registry,
            decisions,
            matches,
            requests,
            request_seconds,
            screening_seconds,
            store,
            writer,
            audit_head_size,
            images_queued,
            heap,
            disagreements,
        }
    }

    pub fn record_decision(&self, decision: &Decision, origin: &str) {
        self.decisions.with_label_values(&[decision.verdict.as_str(), origin]).inc();
        for m in &decision.matches {
            self.matches.with_label_values(&[m.policy.as_str(), m.action.as_str()]).inc();
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
