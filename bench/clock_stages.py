#!/usr/bin/env python3
"""CPU time per listing, per stage, of `rempart screen`, sampled by the clock.

  python3 bench/clock_stages.py [N] [--bin PATH] [--threads T] [--freq HZ] [--goal MBS]

Samples `rempart screen --threads T --no-semantic` (default 1 thread) on
bench/out/listings_N.jsonl (default N = 1,000,000, made by bench/corpus.py
when missing, as bench/run.py makes it) with `perf record -e cpu-clock`
and call graphs (DWARF), and prints, for the stages of
bench/callgrind_stages.py (same names, same functions), the CPU time per
listing spent in each (inclusive: a stage's callees count in it), the rest
of the process (reading lines, batching, threads, writing) and the
functions with the most time of their own.

Why beside callgrind_stages.py: instructions do not show where a search
waits on memory or a branch goes the wrong way, and on a VM without
hardware counters (`perf stat` reports no cycles) the clock is the only
measure of that (BENCHMARKS.md, issue 14, eighteenth and nineteenth steps).
With --goal (MB/s per core, default 100) it also prints the CPU time per
listing that rate allows, for the corpus's bytes per listing.

Needs perf (Debian: `apt-get install linux-perf`) and leave to sample
(root, or `sysctl kernel.perf_event_paranoid=1`), and a release build
with line tables (the default `[profile.release]`). The figures include
what sampling itself costs the run (a few per cent): compare binaries
within one session, and read the shares first.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callgrind_stages import STAGES  # noqa: E402  (the same stages, by the same names)
from run import BIN, ensure_file  # noqa: E402


def report(data, children):
    """{function: percent of all samples}, inclusive or self, inlined frames merged into their caller."""
    out = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "--no-inline", "--sort", "sym", "-g", "none", "--percent-limit", "0",
         "--children" if children else "--no-children"],
        capture_output=True, text=True, check=True,
    ).stdout
    shares = {}
    for line in out.splitlines():
        # "  12.34%   1.23%  [.] crate::function" (with --children), "  1.23%  [.] crate::function" (without).
        m = re.match(r"\s*([\d.]+)%\s+(?:[\d.]+%\s+)?\[[.k]\]\s+(.+?)\s*$", line)
        if m:
            shares[m.group(2)] = shares.get(m.group(2), 0.0) + float(m.group(1))
    return shares


def cpu_time_ns(data):
    """The CPU time the run was sampled over: cpu-clock counts nanoseconds."""
    header = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none", "--sort", "comm"],
                            capture_output=True, text=True, check=True).stdout
    count = re.search(r"# Event count \(approx.\): (\d+)", header)
    if not count or int(count.group(1)) == 0:
        sys.exit(f"perf recorded no samples in {data}")
    return int(count.group(1))


def startup_cpu_seconds(binary):
    """CPU time of `rempart screen` on empty input: the pack compile and start-up."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as empty:
        proc = subprocess.Popen([binary, "screen", "--threads", "1", "--no-semantic", empty.name],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--bin", default=BIN)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--freq", type=int, default=1000, help="samples per second per thread (default 1000)")
    parser.add_argument("--goal", type=float, default=100.0, help="MB/s per core to budget for (default 100)")
    args = parser.parse_args()
    source = ensure_file(args.n)
    size = os.path.getsize(source)
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "perf.data")
        subprocess.run(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(args.freq), "--call-graph", "dwarf,16384", "-o", data,
             args.bin, "screen", "--threads", str(args.threads), "--no-semantic", source],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        cpu_ns = cpu_time_ns(data)
        inclusive, own = report(data, True), report(data, False)
    per_listing = cpu_ns / 1e3 / args.n
    startup = startup_cpu_seconds(args.bin) * 1e6 / args.n
    goal = size / args.n / args.goal  # µs per listing at the goal, for one core
    print(f"binary {args.bin}; {args.n:,} listings of {source}, {size / args.n:,.0f} bytes per listing, "
          f"{args.threads} screening thread(s)")
    print(f"{'CPU per listing, whole process (all threads)':48s} {per_listing:7.2f} µs")
    print(f"{f'at {args.goal:g} MB/s per core':48s} {goal:7.2f} µs  ({per_listing / goal:.2f}x that)")
    top_level = 0.0
    for name, patterns in STAGES:
        patterns = (patterns,) if isinstance(patterns, str) else patterns
        rx = next((re.compile(p) for p in patterns if any(re.search(p, k) for k in inclusive)), re.compile(patterns[0]))
        share = sum(v for k, v in inclusive.items() if rx.search(k))
        if not name.startswith(" "):
            top_level += share
        print(f"{name:48s} {share / 100 * per_listing:7.2f} µs  {share:5.1f} %")
    rest = max(0.0, (100.0 - top_level) / 100 * per_listing - startup)
    print(f"{'start-up (pack compile: an empty-input run)':48s} {startup:7.2f} µs  {startup / per_listing * 100:5.1f} %")
    print(f"{'rest: lines, batches, threads, output':48s} {rest:7.2f} µs  {rest / per_listing * 100:5.1f} %")
    print("functions with the most time of their own:")
    for function, share in sorted(own.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {share / 100 * per_listing:7.2f} µs  {share:5.1f} %  {function[:110]}")


if __name__ == "__main__":
    main()
