#!/usr/bin/env python3
"""Stream-worker benchmark: listings through NATS JetStream to `rempart worker`.

  python3 bench/worker.py [N] [--workers K] [--batch B] [--no-build]

Builds rempart (release), makes N real listings (bench/corpus.py, default
50,000), starts Debian's nats-server with JetStream on a free loopback port
and K workers (default 1) on one fresh SQLite database (durability full),
publishes every listing on the stream (asynchronously, each publication
acknowledged by JetStream) and waits for every decision on the decisions
subject. It reports listings/s end to end (first publication to last
decision), the latency of each listing from its publication to its
decision (p50/p99), the decisions recorded in the store (must equal N),
and, in the same run, `rempart screen` on the same listings (2 threads):
the ratio is the cost of the stream and the record.
Needs nats-server (Debian package) and nats-py (`pip install nats-py`).
"""
import asyncio
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import nats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "rempart")
OUT = os.path.join(ROOT, "bench", "out")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def drive(url, path, n):
    nc = await nats.connect(url)
    js = nc.jetstream()
    decided = {}
    done = asyncio.Event()

    async def on_decision(msg):
        body = json.loads(msg.data)
        key = body.get("listing_id") or f"refused-{body.get('stream_sequence')}"
        if key not in decided:
            decided[key] = time.perf_counter()
        if len(decided) >= n:
            done.set()

    await nc.subscribe("rempart.decisions.>", cb=on_decision)
    while True:
        try:
            await js.stream_info("REMPART_LISTINGS")
            break
        except Exception:
            await asyncio.sleep(0.1)
    sent = {}
    start = time.perf_counter()
    pending = []
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            listing_id = json.loads(line)["id"]
            sent[str(listing_id)] = time.perf_counter()
            pending.append(js.publish("rempart.listings", line))
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending = []
    await asyncio.gather(*pending)
    published = time.perf_counter() - start
    await asyncio.wait_for(done.wait(), timeout=3600)
    elapsed = time.perf_counter() - start
    await nc.drain()
    latencies = [(decided[k] - sent[k]) * 1000 for k in sent if k in decided]
    return {"listings": n, "seconds": elapsed, "publish_seconds": published,
            "listings_per_s": n / elapsed,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def main():
    args = sys.argv[1:]
    workers, batch = 1, 100
    if "--workers" in args:
        i = args.index("--workers")
        workers = int(args[i + 1])
        del args[i:i + 2]
    if "--batch" in args:
        i = args.index("--batch")
        batch = int(args[i + 1])
        del args[i:i + 2]
    if "--no-build" in args:
        args.remove("--no-build")
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    n = int(args[0]) if args else 50_000
    os.makedirs(OUT, exist_ok=True)
    listings = os.path.join(OUT, f"worker_{n}.jsonl")
    if not os.path.exists(listings):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "corpus.py"), "bench", str(n), listings], check=True)
    results = {"machine": platform.machine(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
               "workers": workers, "batch": batch, "load_before": os.getloadavg()}
    try:
        results["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    start = time.perf_counter()
    subprocess.run([BIN, "screen", "--threads", "2", listings], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    results["screen_listings_per_s"] = n / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", tmp],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"nats://127.0.0.1:{port}"
        db = os.path.join(tmp, "bench.db")
        subprocess.run([BIN, "init", "--db", db], capture_output=True, check=True)
        procs = []
        try:
            for _ in range(workers):
                procs.append(subprocess.Popen(
                    [BIN, "worker", "--db", db, "--nats", url, "--batch", str(batch), "--durability", "full"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"}))
            results["stream"] = asyncio.run(drive(url, listings, n))
        finally:
            for p in procs:
                p.terminate()
                p.wait()
            server.terminate()
            server.wait()
        recorded = sqlite3.connect(db).execute("SELECT count(*) FROM decisions").fetchone()[0]
        results["decisions_recorded"] = recorded
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    s = results["stream"]
    print(f"\n| workers | batch | listings/s | p50 ms | p99 ms | recorded | `screen` listings/s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {workers} | {batch} | {s['listings_per_s']:,.0f} | {s['p50_ms']:.0f} | {s['p99_ms']:.0f} | "
          f"{recorded:,} of {n:,} | {results['screen_listings_per_s']:,.0f} | "
          f"{results['screen_listings_per_s'] / s['listings_per_s']:.1f}× |")
    if recorded < n:
        sys.exit(f"{n} listings published but {recorded} decisions recorded")


if __name__ == "__main__":
    main()
