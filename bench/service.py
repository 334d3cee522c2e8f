#!/usr/bin/env python3
"""Service benchmark: `rempart serve` under wrk on loopback, recording on.

  python3 bench/service.py [SECONDS] [--soak SECONDS] [--batch-runs N] [--no-build]
                           [--no-semantic] [--bin PATH] [--full-only] [--serve "SERVE FLAGS"]

Builds rempart (release), makes 100,000 real listings (bench/corpus.py),
and for each durability setting (full: fsync before answering; normal: WAL
synced at checkpoints) starts a fresh server on a new SQLite database and
runs wrk (bench/wrk/listings.lua) for SECONDS (default 30):
  * single listings: 2 threads, 32 connections, every request a new listing;
  * batches of 100 listings: 2 threads, 4 connections.
It reports requests/s, listings/s, latency p50/p99/p99.9, the server's CPU
time per listing (user + system, every thread: unlike a rate it does not
depend on what else the machine runs), the writer thread's share of it
(the one serial stage: 1e6 / that is the batch rate's ceiling) and the server's RSS (start, peak, end), and, in the same run, `rempart screen` on the same
listings (2 threads): the recording overhead is the ratio of the two.
With --soak S, single listings run for S seconds more and RSS is sampled
every 10 s to show memory stays flat (the slope of its last half in MiB
per minute, split into heap, mapped files and
shared memory, and the allocator's own in-use / freed-but-held figures
from /metrics at the soak's start and end).
With --no-semantic both the server and `screen` run lexical only (the
semantic stage's model dominates both when it is on; see BENCHMARKS.md).
After each server stops, `rempart audit verify` recomputes the whole log
(the run fails if it does not verify).
With --bin PATH another build is measured (e.g. a copy of main's binary,
to alternate base and branch runs); --full-only skips durability normal;
--serve passes more flags to `rempart serve` (e.g. "--screening-threads 4").
Needs wrk (Debian package `wrk`).
"""
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "rempart")
LUA = os.path.join(ROOT, "bench", "wrk", "listings.lua")
OUT = os.path.join(ROOT, "bench", "out")


def memory_mib(pid):
    """VmRSS (MiB) and its parts: RssAnon (the heap and thread stacks),
    RssFile (mapped files: the binary, SQLite's WAL index), RssShmem; and
    the process's thread count (each thread may hold an arena and a cache)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
                    n = int(value.split()[0])
                    out[key] = n if key == "Threads" else n / 1024
    except OSError:
        pass
    return out


def heap_mib(addr, key):
    """The allocator's own figures from /metrics (glibc's mallinfo2): in use
    vs freed-but-held tells live data from fragmentation."""
    req = urllib.request.Request(f"http://{addr}/metrics", headers={"Authorization": f"Bearer {key}"})
    text = urllib.request.urlopen(req, timeout=30).read().decode()
    return {m.group(1): int(m.group(2)) / 2**20
            for m in re.finditer(r'^rempart_heap_bytes\{kind="(\w+)"\} (\d+)', text, re.M)}


def cpu_seconds(pid, thread=None):
    """User + system CPU time the process has used so far (every thread, or
    only the thread named `thread`): CPU per listing does not depend on what
    else runs on the machine, as a rate does, so it compares builds
    measured at different times."""
    paths = [f"/proc/{pid}/stat"]
    if thread:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            tasks = []
        paths = [f"/proc/{pid}/task/{t}/stat" for t in tasks]
    total = 0.0
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.find("(") + 1:text.rfind(")")]
        if thread and name != thread:
            continue
        fields = text.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mib(pid):
    return memory_mib(pid).get("VmRSS", 0.0)


class Sampler(threading.Thread):
    """RSS and its parts every `every` seconds; once `heap` is set (a
    function returning the allocator's figures), those too, as `heap_in_use`
    and `heap_free_held`: the in-use series shows whether live data levels
    off, which its two ends alone cannot."""

    def __init__(self, pid, every=1.0):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.stop, self.heap = pid, every, [], False, None

    def run(self):
        while not self.stop:
            sample = memory_mib(self.pid)
            if self.heap:
                try:
                    sample.update({f"heap_{k}": v for k, v in self.heap().items()})
                except OSError:
                    pass
            self.samples.append(sample)
            time.sleep(self.every)


def start_server(db, durability):
    log = open(db + ".log", "w")
    proc = subprocess.Popen(
        [BIN, "serve", "--db", db, "--listen", "127.0.0.1:0", "--durability", durability,
         "--rate-per-minute", "0", *STAGES, *SERVE_ARGS],
        stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "RUST_LOG": "warn"})
    for _ in range(600):
        text = open(db + ".log").read()
        m = re.search(r"listening on http://(\S+)", text)
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            sys.exit(f"serve exited: {text}")
        time.sleep(0.1)
    sys.exit("serve did not start")


RUNS = 0
STAGES = []
SERVE_ARGS = []


def wrk(addr, key, listings, batch, threads, connections, seconds, pid):
    global RUNS
    RUNS += 1
    cpu_before = cpu_seconds(pid)
    writer_before = cpu_seconds(pid, "rempart-writer")
    env = {**os.environ, "KEY": key, "LISTINGS": listings, "BATCH": str(batch), "RUN": f"r{RUNS}t"}
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", LUA, f"http://{addr}"], env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT (.*)", out)
    fields = dict(kv.split("=") for kv in m.group(1).split())
    r = {k: float(v) for k, v in fields.items()}
    if r["errors_status"] or r["errors_io"]:
        # A run whose requests failed measures the error path, not the service.
        sys.exit(f"wrk: {r['errors_status']:.0f} non-2xx and {r['errors_io']:.0f} I/O errors "
                 f"of {r['requests']:.0f} requests (batch {batch})")
    r["requests_per_s"] = r["requests"] / r["duration_s"]
    r["listings_per_s"] = r["requests_per_s"] * batch
    r["server_cpu_us_per_listing"] = (cpu_seconds(pid) - cpu_before) * 1e6 / max(r["requests"] * batch, 1)
    # The writer thread is the one serial stage: its CPU per listing bounds
    # the rate at 1e6 / that, however many cores serve the rest.
    r["writer_cpu_us_per_listing"] = (cpu_seconds(pid, "rempart-writer") - writer_before) * 1e6 / max(r["requests"] * batch, 1)
    return r


def parse_args():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[3:]))
    ap.add_argument("seconds", nargs="?", type=int, default=30, help="length of each wrk run (default 30)")
    ap.add_argument("--soak", type=int, default=0, metavar="S", help="single listings for S seconds more, memory sampled")
    ap.add_argument("--batch-runs", type=int, default=1, metavar="N",
                    help="run the batch-100 load N times on the same server (the spread shows how settled the figure is)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build first")
    ap.add_argument("--no-semantic", action="store_true", help="lexical stages only, server and screen alike")
    ap.add_argument("--bin", help="the rempart binary to measure (default target/release/rempart)")
    ap.add_argument("--full-only", action="store_true", help="skip durability normal")
    ap.add_argument("--serve", default="", metavar="FLAGS", help="more flags for `rempart serve`, space-separated")
    return ap.parse_args()


def slope_mib_per_min(samples, key="VmRSS", every=10):
    """Least-squares slope of the last half of the soak's samples, MiB per
    minute: 'flat' is a slope near zero once the server has warmed up, which
    a start/end difference cannot tell from a step that has already levelled."""
    tail = [p[key] for p in samples[len(samples) // 2:] if key in p]
    if len(tail) < 3:
        return None
    n = len(tail)
    xs = [i * every / 60 for i in range(n)]
    mx, my = sum(xs) / n, sum(tail) / n
    return sum((x - mx) * (y - my) for x, y in zip(xs, tail)) / sum((x - mx) ** 2 for x in xs)


def main():
    args = parse_args()
    global BIN
    if args.bin:
        BIN = os.path.abspath(args.bin)
    SERVE_ARGS.extend(args.serve.split())
    soak, seconds = args.soak, args.seconds
    durabilities = ["full"] if args.full_only else ["full", "normal"]
    if args.no_semantic:
        STAGES.append("--no-semantic")
        results_stages = "lexical only"
    else:
        results_stages = "with the semantic stage"
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    os.makedirs(OUT, exist_ok=True)
    listings = os.path.join(OUT, "service_100000.jsonl")
    if not os.path.exists(listings):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "corpus.py"), "bench", "100000", listings], check=True)
    results = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d"), "bin": BIN, "serve_args": SERVE_ARGS, "seconds": seconds, "stages": results_stages, "load_before": os.getloadavg()}
    try:
        results["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass

    start = time.perf_counter()
    subprocess.run([BIN, "screen", "--threads", "2", *STAGES, listings], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    screen_s = time.perf_counter() - start
    results["screen_listings_per_s"] = 100000 / screen_s

    for durability in durabilities:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "bench.db")
            subprocess.run([BIN, "init", "--db", db], capture_output=True, check=True)
            key = subprocess.run([BIN, "keys", "create", "--db", db, "--role", "submitter", "--secret-only"],
                                 capture_output=True, text=True, check=True).stdout.strip()
            auditor = subprocess.run([BIN, "keys", "create", "--db", db, "--role", "auditor", "--secret-only"],
                                     capture_output=True, text=True, check=True).stdout.strip()
            proc, addr = start_server(db, durability)
            sampler = Sampler(proc.pid)
            sampler.start()
            rss_start = rss_mib(proc.pid)
            single = wrk(addr, key, listings, 1, 2, 32, seconds, proc.pid)
            batches = [wrk(addr, key, listings, 100, 2, 4, seconds, proc.pid) for _ in range(args.batch_runs)]
            batch = sorted(batches, key=lambda r: r["listings_per_s"])[len(batches) // 2]
            soaked = None
            soak_from = 0
            heap_before = heap_after = None
            if soak and durability == "full":
                sampler.every = 10
                sampler.heap = lambda: heap_mib(addr, auditor)
                soak_from = len(sampler.samples)
                heap_before = heap_mib(addr, auditor)
                soaked = wrk(addr, key, listings, 1, 2, 32, soak, proc.pid)
                heap_after = heap_mib(addr, auditor)
            sampler.stop = True
            rss_end = rss_mib(proc.pid)
            proc.terminate()
            proc.wait()
            size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
            # Every acknowledged listing must be on record: batches answer 200
            # even when items are refused, so count what was recorded.
            recorded = sqlite3.connect(db).execute("SELECT count(*) FROM decisions").fetchone()[0]
            sent = single["requests"] + sum(b["requests"] for b in batches) * 100 + (soaked["requests"] if soaked else 0)
            if recorded < sent:
                sys.exit(f"{durability}: {sent:.0f} listings acknowledged but {recorded} decisions recorded")
            verified = subprocess.run([BIN, "audit", "verify", "--db", db], capture_output=True, text=True)
            if verified.returncode != 0:
                sys.exit(f"{durability}: audit verify failed ({verified.returncode}): {verified.stderr[-2000:]}")
            results[durability] = {
                "single": single, "batch100": batch, "batch100_runs": [round(b["listings_per_s"]) for b in batches],
                "soak": soaked,
                "rss_mib": {"start": rss_start, "peak": max(p.get("VmRSS", 0.0) for p in sampler.samples), "end": rss_end},
                "rss_samples": [round(p.get("VmRSS", 0.0), 1) for p in sampler.samples[-60:]] if soak else None,
                "rss_parts_samples": [{k: round(v, 1) for k, v in p.items()} for p in sampler.samples[soak_from:]] if soak else None,
                "heap_mib": {"soak_start": heap_before, "soak_end": heap_after},
                "soak_last_half_mib_per_min": {k: slope_mib_per_min(sampler.samples[soak_from:], k)
                                               for k in ("VmRSS", "RssAnon", "heap_in_use", "heap_sqlite")} if soak else None,
                "db_bytes": size, "decisions_recorded": recorded,
            }
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    print()
    print(f"| durability | single listings/s | p50 ms | p99 ms | p99.9 ms | CPU µs/listing | batch-100 listings/s | p99 ms | CPU µs/listing | writer µs/listing | RSS start/peak/end MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for d in durabilities:
        r = results[d]
        s, b, m = r["single"], r["batch100"], r["rss_mib"]
        print(f"| {d} | {s['listings_per_s']:,.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['p999_ms']:.2f} | "
              f"{s['server_cpu_us_per_listing']:.0f} | {b['listings_per_s']:,.0f} | {b['p99_ms']:.1f} | "
              f"{b['server_cpu_us_per_listing']:.0f} | {b['writer_cpu_us_per_listing']:.1f} | {m['start']:.0f}/{m['peak']:.0f}/{m['end']:.0f} |")
    for d in durabilities:
        parts = results[d]["rss_parts_samples"]
        if parts:
            half = parts[len(parts) // 2]
            print(f"\nsoak ({d}), MiB at its start / middle / end: " + "; ".join(
                f"{k} {parts[0].get(k, 0):.1f} / {half.get(k, 0):.1f} / {parts[-1].get(k, 0):.1f}"
                for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads")))
            for k, what in (("heap_in_use", "allocator in use"), ("heap_sqlite", "of which SQLite")):
                print(f"{what} over the soak, MiB every 10 s: "
                      + " ".join(f"{p[k]:.1f}" for p in parts if k in p))
            slope = results[d]["soak_last_half_mib_per_min"]
            print("RSS slope over the soak's last half, MiB per minute: "
                  + "; ".join(f"{k} {v:+.3f}" for k, v in slope.items() if v is not None))
            heap = results[d]["heap_mib"]
            print("allocator, MiB at the soak's start / end: " + "; ".join(
                f"{k} {heap['soak_start'].get(k, 0):.1f} / {heap['soak_end'].get(k, 0):.1f}"
                for k in ("in_use", "sqlite", "free_held", "mmapped")))
    for d in durabilities:
        if len(results[d]["batch100_runs"]) > 1:
            print(f"batch-100 runs ({d}), listings/s: " + ", ".join(f"{v:,}" for v in results[d]["batch100_runs"]) + " (the table shows the median)")
        soaked = results[d]["soak"]
        if soaked:
            print(f"soak ({d}): {soaked['listings_per_s']:,.0f} listings/s, p50 {soaked['p50_ms']:.2f} / p99 {soaked['p99_ms']:.2f} / "
                  f"p99.9 {soaked['p999_ms']:.2f} ms, {soaked['server_cpu_us_per_listing']:.0f} µs CPU per listing")
    print(f"\n`rempart screen` (2 threads) on the same listings: {results['screen_listings_per_s']:,.0f} listings/s")


if __name__ == "__main__":
    main()
