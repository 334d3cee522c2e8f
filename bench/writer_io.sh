#!/bin/bash
# The writer thread's syscalls and CPU per listing under batch-100 load.
#
#   bash bench/writer_io.sh BIN [SECONDS]
#
# Starts `BIN serve` on a new SQLite database (127.0.0.1:18098, lexical
# stages only), warms it with 5 s of wrk batch-100 load (bench/wrk/listings.lua,
# 2 threads, 4 connections), then measures SECONDS (default 15) more and
# prints, per listing: the writer thread's read and write syscalls
# (/proc/PID/task/TID/io), its CPU time and the whole server's
# (/proc/.../stat). CPU per listing and syscall counts do not depend on
# what else the machine runs, as rates do: alternate two builds' runs to
# compare them. Needs wrk and bench/out/service_100000.jsonl (made by
# bench/service.py).
set -euo pipefail
BIN=$(realpath "$1"); S=${2:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LISTINGS=$ROOT/bench/out/service_100000.jsonl
[ -f "$LISTINGS" ] || { echo "missing $LISTINGS: run python3 bench/service.py once" >&2; exit 2; }
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
"$BIN" init --db "$D/b.db" >/dev/null 2>&1
KEY=$("$BIN" keys create --db "$D/b.db" --role submitter --secret-only 2>/dev/null)
RUST_LOG=warn "$BIN" serve --db "$D/b.db" --listen 127.0.0.1:18098 --rate-per-minute 0 --no-semantic 2>"$D/log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$D"' EXIT
sleep 3
W=$(dirname "$(grep -l '^rempart-writer$' /proc/$PID/task/*/comm | head -1)")
load() { LISTINGS=$LISTINGS KEY=$KEY BATCH=100 RUN=$1 wrk -t 2 -c 4 -d "$2s" --timeout 10s -s "$ROOT/bench/wrk/listings.lua" http://127.0.0.1:18098; }
load w 5 >/dev/null
field() { awk -v k="$1" '$1 == k":" {print $2}' "$W/io"; }
cpu() { awk '{print $14 + $15}' "$1"; }
r0=$(field syscr); w0=$(field syscw); c0=$(cpu "$W/stat"); t0=$(cpu /proc/$PID/stat)
load m "$S" >"$D/wrk.txt"
r1=$(field syscr); w1=$(field syscw); c1=$(cpu "$W/stat"); t1=$(cpu /proc/$PID/stat)
N=$(( $(grep -oE 'requests=[0-9]+' "$D/wrk.txt" | cut -d= -f2) * 100 ))
TICK=$(getconf CLK_TCK)
python3 -c "
n, s, tick = $N, $S, $TICK
print(f'listings {n} ({n / s:.0f}/s); writer per listing: {($r1 - $r0) / n:.2f} reads, {($w1 - $w0) / n:.2f} writes, '
      f'{($c1 - $c0) * 1e6 / tick / n:.1f} us CPU; whole server {($t1 - $t0) * 1e6 / tick / n:.1f} us CPU')"
