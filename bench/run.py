#!/usr/bin/env python3
"""Screening benchmark: rempart vs a raw `grep -oiF -f <all policy terms>` scan.

  python3 bench/run.py [N] [--pack DIR]... [--no-build] [--cyrillic]   (default N = 1,000,000 listings)

Builds bench/out/listings_N.jsonl from the shared corpora (bench/corpus.py;
with --cyrillic, bench/out/cyrillic_N.jsonl: the same listings in Cyrillic
letters, a stand-in for a Bulgarian catalogue),
builds rempart in release mode (unless --no-build), then in the same run times,
for each pack (the embedded one by default; every --pack DIR otherwise, so two
packs can be compared on the same binary and the same machine load):
  * the pack's compile time and memory (`rempart screen` on empty input),
  * rempart screen on 1 thread and on all cores (output to /dev/null),
  * grep -oiF -f terms.txt on the same file (one core), terms from `rempart policy terms`,
and reports listings/s, MB/s per core, peak RSS, and the rempart/grep ratio.
Peak RSS is also measured on a file 10x smaller to show memory is flat in input size.
"""
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
BIN = os.path.join(ROOT, "target", "release", "rempart")


def run(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd, returns (seconds, peak RSS in MiB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def best_of(n, cmd, stdout=subprocess.DEVNULL):
    runs = [run(cmd, stdout) for _ in range(n)]
    return min(runs, key=lambda r: r[0])


def ensure_file(n, mode="bench", stem="listings"):
    """bench/out/<stem>_<n>.jsonl, made by `corpus.py <mode> n` when missing."""
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{stem}_{n}.jsonl")
    if not os.path.exists(path):
        # Written aside and renamed, so an interrupted run (or a full disk)
        # never leaves a short file that later runs would take as complete.
        partial = path + ".partial"
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "corpus.py"), mode, str(n), partial], check=True)
        os.replace(partial, path)
    return path


def measure_pack(pack, big, small, n, size, cores):
    """Times one pack (None: the embedded one); returns the report lines."""
    policy = ["--policy", pack] if pack else []
    terms = os.path.join(OUT, "terms.txt")
    with open(terms, "w") as f:
        subprocess.run([BIN, "policy", "terms", *([pack] if pack else [])], stdout=f, check=True)
    term_count = sum(1 for _ in open(terms))
    # The pack compile (TOML, expressions, automata) is a fixed cost per process.
    tc, rssc, _ = best_of(3, [BIN, "screen", *policy, os.devnull])
    t1, rss1, rc1 = best_of(2, [BIN, "screen", *policy, "--threads", "1", big])
    tn, rssn, rcn = best_of(2, [BIN, "screen", *policy, big])
    _, rss_small, _ = run([BIN, "screen", *policy, small])
    # Byte-mode grep (LC_ALL=C) is the strong baseline: in a UTF-8 locale,
    # case-insensitive multi-pattern grep is about 80x slower on this input.
    os.environ["LC_ALL"] = "C"
    # -o, not -c: the pack has one- and two-letter spellings (the collapsed
    # runs of terms like `aaa`, which rempart uses only after such a run),
    # so `grep -c` stops at the first bytes of nearly every line and reads
    # almost nothing; -o finds every match and so reads every byte, as
    # rempart does. Its output goes to a file: GNU grep stops at the first
    # match when its output is /dev/null, and a pipe nobody reads would fill.
    with open(os.path.join(OUT, "grep_matches.txt"), "w") as matches:
        tg, rssg, rcg = best_of(2, ["grep", "-oiF", "-f", terms, big], stdout=matches)
    del os.environ["LC_ALL"]
    flagged = subprocess.run([BIN, "screen", *policy, "--only-flagged", big], capture_output=True, text=True).stdout.count("\n")
    return [
        f"pack: {pack or 'embedded'}; {term_count:,} term spellings; compiled in {tc:.2f} s, peak RSS {rssc:.1f} MiB on empty input; {flagged:,} flagged",
        f"rempart screen, 1 thread : {t1:7.2f} s  {n / t1:10,.0f} listings/s  {size / t1:7.1f} MB/s per core  peak RSS {rss1:6.1f} MiB  (exit {rc1})",
        f"rempart screen, {cores} threads: {tn:7.2f} s  {n / tn:10,.0f} listings/s  {size / tn / cores:7.1f} MB/s per core  peak RSS {rssn:6.1f} MiB  (exit {rcn})",
        f"LC_ALL=C grep -oiF -f terms, 1 core: {tg:7.2f} s  {size / tg:7.1f} MB/s  peak RSS {rssg:6.1f} MiB  (exit {rcg})",
        f"ratio rempart(1 thread) / grep time: {t1 / tg:.2f}x",
        f"peak RSS on {max(n // 10, 1):,} listings: {rss_small:.1f} MiB vs {rssn:.1f} MiB on {n:,} (flat memory)",
    ]


def main():
    args = sys.argv[1:]
    packs, build, n, corpus = [], True, 1_000_000, ("bench", "listings")
    while args:
        arg = args.pop(0)
        if arg == "--pack":
            packs.append(args.pop(0))
        elif arg == "--no-build":
            build = False
        elif arg == "--cyrillic":
            corpus = ("cyrillic", "cyrillic")
        else:
            n = int(arg)
    if build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    big, small = ensure_file(n, *corpus), ensure_file(max(n // 10, 1), *corpus)
    size = os.path.getsize(big) / 1e6
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores, {platform.system()} {platform.release()}; load average {load:.1f}")
    print(f"input: {n:,} listings, {size:.1f} MB ({os.path.basename(big)})")
    for pack in packs or [None]:
        print("\n".join(measure_pack(pack, big, small, n, size, cores)))


if __name__ == "__main__":
    main()
