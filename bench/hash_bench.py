#!/usr/bin/env python3
"""PDQ hashing benchmark: `rempart hash` vs Meta's C++ PDQ through the
`pdqhash` Python binding (PyPI, wraps the reference's hashing code), on the
same images, in the same run, one core each.

  python3 -m venv /tmp/pdqvenv && /tmp/pdqvenv/bin/pip install pdqhash numpy pillow
  PDQ_PYTHON=/tmp/pdqvenv/bin/python python3 bench/hash_bench.py [REPEAT]

The image set is every JPEG/PNG of ../shared/data/pdq/images the reference
accepts, repeated REPEAT times (default 20). rempart's time includes reading
and decoding (pure-Rust decoders); the peer's includes PIL decoding, the
resize to 512 the reference CLI does, and hashing. Without PDQ_PYTHON only
rempart is timed.
"""
import csv
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(ROOT, "..", "shared", "data", "pdq")
BIN = os.path.join(ROOT, "target", "release", "rempart")

PEER = r"""
import sys, time, numpy, pdqhash
from PIL import Image
paths = sys.argv[1:]
start = time.perf_counter()
for p in paths:
    img = Image.open(p).convert("RGB")
    if img.width > 512 or img.height > 512:
        img = img.resize((512, 512), Image.NEAREST)
    pdqhash.compute(numpy.asarray(img))
print(time.perf_counter() - start)
"""


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    images = os.path.join(SUITE, "images")
    with open(os.path.join(SUITE, "expected", "regenerated_cpp_reference", "hash_quality.csv")) as f:
        files = [os.path.join(images, row[2]) for row in csv.reader(f) if row]
    paths = files * repeat
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    start = time.perf_counter()
    subprocess.run([BIN, "hash", *paths], env=env, check=True, stdout=subprocess.DEVNULL)
    ours = time.perf_counter() - start
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.platform()}")
    print(f"images: {len(files)} distinct x {repeat} = {len(paths)}")
    print(f"rempart hash (1 thread): {ours:.2f} s, {len(paths) / ours:.0f} images/s")
    peer = os.environ.get("PDQ_PYTHON")
    if peer:
        out = subprocess.run([peer, "-c", PEER, *paths], check=True, capture_output=True, text=True)
        theirs = float(out.stdout.strip())
        print(f"pdqhash (C++ reference via Python, PIL decode): {theirs:.2f} s, {len(paths) / theirs:.0f} images/s")
        print(f"ratio rempart/peer time: {ours / theirs:.2f}")
    start = time.perf_counter()
    subprocess.run([BIN, "hash", *paths], check=True, stdout=subprocess.DEVNULL)
    both = time.perf_counter() - start
    print(f"rempart hash (all cores): {both:.2f} s, {len(paths) / both:.0f} images/s")


if __name__ == "__main__":
    main()
