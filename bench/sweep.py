#!/usr/bin/env python3
"""Catalogue sweep benchmark: `rempart sweep` against `rempart screen` on the same file.

  python3 bench/sweep.py [N] [--zst]     (default N = 1,000,000 listings)

Builds bench/out/catalogue_N.jsonl (bench/corpus.py catalogue: the shared benign corpora
cycled, 1 listing in 200 policy-relevant, 50,000 sellers, destinations), builds rempart in
release mode, then in the same run times (best of two, output to /dev/null):
  * rempart screen FILE (all cores),
  * rempart sweep FILE --report DIR --restart (all cores),
and reports listings/s, the sweep/screen ratio and peak RSS, with the sweep's peak RSS on a
file 10x smaller to show memory is flat in input size. With --zst the sweep also reads a
zstd-compressed copy (needs the `zstd` command).
"""
import os
import platform
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import BIN, ROOT, best_of, ensure_file, run  # noqa: E402


def ensure(n):
    return ensure_file(n, "catalogue", "catalogue")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    big, small = ensure(n), ensure(max(n // 10, 1))
    size = os.path.getsize(big) / 1e6
    report = tempfile.mkdtemp(prefix="rempart-sweep-")
    try:
        ts, rss_s, rc_s = best_of(2, [BIN, "screen", big])
        tw, rss_w, rc_w = best_of(2, [BIN, "sweep", big, "--report", report, "--restart"])
        _, rss_small, _ = run([BIN, "sweep", small, "--report", report, "--restart"])
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
        print(f"input: {n:,} listings, {size:.1f} MB")
        print(f"rempart screen: {ts:7.2f} s  {n / ts:10,.0f} listings/s  peak RSS {rss_s:6.1f} MiB  (exit {rc_s})")
        print(f"rempart sweep : {tw:7.2f} s  {n / tw:10,.0f} listings/s  peak RSS {rss_w:6.1f} MiB  (exit {rc_w})")
        print(f"sweep / screen time: {tw / ts:.2f}x")
        print(f"sweep peak RSS on {max(n // 10, 1):,} listings: {rss_small:.1f} MiB vs {rss_w:.1f} MiB on {n:,}")
        if "--zst" in sys.argv and shutil.which("zstd"):
            zst = big + ".zst"
            if not os.path.exists(zst):
                subprocess.run(["zstd", "-q", "-3", big, "-o", zst], check=True)
            tz, rss_z, rc_z = best_of(2, [BIN, "sweep", zst, "--report", report, "--restart"])
            print(f"rempart sweep on .zst ({os.path.getsize(zst) / 1e6:.1f} MB): {tz:7.2f} s  {n / tz:10,.0f} listings/s  peak RSS {rss_z:6.1f} MiB  (exit {rc_z})")
        for name in ["flagged.csv", "sellers.csv"]:
            print(f"{name}: {os.path.getsize(os.path.join(report, name)) / 1e6:.1f} MB")
    finally:
        shutil.rmtree(report, ignore_errors=True)


if __name__ == "__main__":
    main()
