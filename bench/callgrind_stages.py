#!/usr/bin/env python3
"""Instructions per listing, per stage, of `rempart screen` under callgrind.

  python3 bench/callgrind_stages.py [N] [--bin PATH] [--input FILE] [--spread]

Runs `valgrind --tool=callgrind` on `rempart screen --threads 1 --no-semantic`
twice: on empty input (the pack compile and start-up) and on the first N
listings (default 5,000; with --spread, N listings evenly spaced through
the file) of `bench/corpus.py bench 200000` (written to bench/out/ when
missing), and prints the difference divided by N, in total (also per input
byte) and for the stages below (inclusive counts of the functions named, so an
inlined function counts in its caller). Instruction counts do not depend
on the machine's load, unlike wall-clock times.

Needs valgrind (`apt-get install valgrind`) and a release build with line
tables (the default `[profile.release]`).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")

# stage name -> regex over callgrind function names (inclusive counts summed);
# a tuple of them: the first that names a function of the binary. A
# function the compiler inlined is counted through its callees.
STAGES = [
    ("screen (whole gate)",
     (r"^rempart_core::gate::Gate::screen_(with|traced)$", r"^rempart_core::gate::Gate::(signals|decide)$")),
    ("  fold (canonical text + offset map)",
     (r"^rempart_core::normalize::Folded::fold_in_place$", r"^rempart_core::normalize::Folded::(new|build|build_with)$")),
    ("  match: automaton + whole-word checks", r"^rempart_core::matcher::Matcher::scan$"),
    ("  match: regular expressions", r"as regex_automata::meta::strategy::Strategy>::which_overlapping_matches$"),
    ("  match: leet readings", r"^rempart_core::normalize::leet_variants$"),
    ("  quantities (extract)", r"^rempart_core::extract::extract$"),
    ("  language detection (whatlang)", r"^whatlang::core::detect::detect_with_options$"),
    ("JSON parse (Listing::from_json_with)",
     (r"^rempart_core::listing::Listing::from_json_with$",
      r"^(rempart_core::listing::Listing::deserialize_from|simdutf8::implementation::x86::avx2::validate_utf8_basic)$")),
    # The writer calls serialize for the decisions it does not write itself:
    # the first of these names a binary has is the stage, never both.
    ("JSON write (DecisionWriter::write)",
     (r"^rempart_core::decision::DecisionWriter::write$", r"Serialize for rempart_core::decision::Decision>::serialize$")),
]


def inclusive(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", path], capture_output=True, text=True, check=True,
        # From the repository, callgrind_annotate shortens source paths and
        # merges lines of different files under one function: run it from /.
        cwd="/",
    ).stdout
    total = int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", out).group(1).replace(",", ""))
    counts = {}
    for line in out.splitlines():
        # "  1,234 (0.01%)  file:function [object]": the function's own line
        # (lines without the object name attribute inlined code to a file).
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S+?\.\w+|\?\?\?):(.+?)( \[[^\]]*\])?$", line)
        if m and m.group(4):
            counts[m.group(3)] = counts.get(m.group(3), 0) + int(m.group(1).replace(",", ""))
    return total, counts


def profile(binary, input_path, workdir, name):
    out = os.path.abspath(os.path.join(workdir, name))
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "screen", "--threads", "1",
         "--no-semantic", input_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )
    return inclusive(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=5000)
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "rempart"))
    parser.add_argument("--input", help="JSONL listings (default: bench/out/listings_200000.jsonl, made when missing)")
    parser.add_argument("--spread", action="store_true",
                        help="take the N listings evenly spaced through the input, not its first N lines")
    args = parser.parse_args()
    source = args.input
    if not source:
        source = os.path.join(OUT, "listings_200000.jsonl")
        if not os.path.exists(source):
            os.makedirs(OUT, exist_ok=True)
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "corpus.py"), "bench", "200000",
                            source + ".partial"], check=True)
            os.replace(source + ".partial", source)
    with tempfile.TemporaryDirectory() as work:
        sample = os.path.join(work, "sample.jsonl")
        with open(source, "rb") as f:
            lines = f.readlines() if args.spread else [line for _, line in zip(range(args.n), f)]
        if args.spread:
            step = max(1, len(lines) // args.n)
            lines = lines[::step][: args.n]
        with open(sample, "wb") as s:
            s.writelines(lines)
        sample_bytes = sum(len(line) for line in lines)
        empty = os.path.join(work, "empty.jsonl")
        open(empty, "w").close()
        total0, base = profile(args.bin, empty, work, "empty.cg")
        total1, full = profile(args.bin, sample, work, "sample.cg")
    n = len(lines)
    # Listings differ in length by more than 3x between parts of the corpus
    # (its first 2,000 lines average ~1,050 bytes, the whole ~300), so a
    # count per listing means little without the bytes it was paid for.
    print(f"binary {args.bin}; {n:,} listings of {source}{' (spread)' if args.spread else ''}, "
          f"{sample_bytes / n:,.0f} bytes per listing")
    print(f"{'total per listing (empty-input run subtracted)':48s} {(total1 - total0) / n:10,.0f}")
    print(f"{'total per input byte':48s} {(total1 - total0) / sample_bytes:10,.1f}")
    for name, patterns in STAGES:
        patterns = (patterns,) if isinstance(patterns, str) else patterns
        rx = next((re.compile(p) for p in patterns if any(re.search(p, k) for k in full)), re.compile(patterns[0]))
        value = sum(v for k, v in full.items() if rx.search(k)) - sum(v for k, v in base.items() if rx.search(k))
        print(f"{name:48s} {value / n:10,.0f}")


if __name__ == "__main__":
    main()
