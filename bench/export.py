#!/usr/bin/env python3
"""Statement-of-reasons export benchmark: `rempart dsa export` on a store of N decisions.

  python3 bench/export.py [N] [--no-build] [--bin PATH]   (default N = 20,000 listings)

Builds rempart in release mode, creates a SQLite store (`rempart init`), starts `rempart serve`
on 127.0.0.1 and records N listings through the API (examples/listings.jsonl cycled with fresh
ids: 25 of its 40 listings are blocked or restricted), stops the service, then times (best of
two, output to /dev/null):
  * rempart dsa export --db DB --since 2000-01-01           (map + validate + batch every statement),
  * rempart dsa validate on the export's output              (the validator alone, for the split),
  * rempart dsa export --submit URL against a local mock of the Transparency Database that
    answers 201 at once (Python http.server), so the figure is rempart's side of a submission
    (the store writes and audit entries per answer), not the Commission's.
There is no other open statement-of-reasons exporter to compare against.
"""
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import BIN, ROOT, best_of, run  # noqa: E402


class Mock(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = [dict(s, uuid=f"u-{s['puid']}") for s in body["statements"]]
        data = json.dumps({"statements": out}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def record(db, n):
    log = open(os.path.join(os.path.dirname(db), "serve.log"), "w")
    serve = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        addr = None
        for _ in range(600):
            m = re.search(r"listening on http://(\S+)", open(log.name).read())
            if m:
                addr = m.group(1)
                break
            time.sleep(0.1)
        assert addr, open(log.name).read()
        key = subprocess.run([BIN, "keys", "create", "--db", db, "--role", "submitter", "--label", "bench", "--secret-only"],
                             check=True, capture_output=True, text=True).stdout.strip()
        examples = [json.loads(l) for l in open(os.path.join(ROOT, "examples", "listings.jsonl"), encoding="utf-8")]
        batch = []
        for i in range(n):
            listing = dict(examples[i % len(examples)], id=f"B-{i}")
            batch.append(listing)
            if len(batch) == 1000 or i == n - 1:
                req = urllib.request.Request(f"http://{addr}/v1/listings", data=json.dumps({"listings": batch}).encode(),
                                             headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=600).read()
                batch = []
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait()


def main():
    global BIN
    args = sys.argv[1:]
    if "--bin" in args:
        # A release binary built elsewhere from the same sources (e.g. a
        # copy of CI's), so the benchmark need not rebuild on a busy machine.
        BIN = os.path.abspath(args[args.index("--bin") + 1])
        del args[args.index("--bin"):args.index("--bin") + 2]
    numbers = [a for a in args if not a.startswith("--")]
    n = int(numbers[0]) if numbers else 20_000
    if "--no-build" not in args and "--bin" not in sys.argv:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(f"binary: {BIN}")
    work = tempfile.mkdtemp(prefix="rempart-export-")
    try:
        db = os.path.join(work, "r.db")
        subprocess.run([BIN, "init", "--db", db], check=True, capture_output=True)
        t0 = time.perf_counter()
        record(db, n)
        ingest = time.perf_counter() - t0
        out = os.path.join(work, "batches.jsonl")
        with open(out, "w") as f:
            subprocess.run([BIN, "dsa", "export", "--db", db, "--since", "2000-01-01"], stdout=f, check=True)
        statements = sum(len(json.loads(l)["statements"]) for l in open(out))
        te, rss_e, rc_e = best_of(2, [BIN, "dsa", "export", "--db", db, "--since", "2000-01-01"])
        tv, rss_v, rc_v = best_of(2, [BIN, "dsa", "validate", out])
        server = ThreadingHTTPServer(("127.0.0.1", 0), Mock)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        env = dict(os.environ, REMPART_DSA_TOKEN="bench")
        start = time.perf_counter()
        proc = subprocess.run([BIN, "dsa", "export", "--db", db, "--since", "2000-01-01", "--submit", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        ts = time.perf_counter() - start
        server.shutdown()
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
        print(f"store: {n:,} listings recorded through the API in {ingest:.1f} s; {statements:,} statements of reasons")
        print(f"dsa export (print) : {te:7.2f} s  {statements / te:10,.0f} statements/s  peak RSS {rss_e:6.1f} MiB  (exit {rc_e})")
        print(f"dsa validate output: {tv:7.2f} s  {statements / tv:10,.0f} statements/s  peak RSS {rss_v:6.1f} MiB  (exit {rc_v})")
        print(f"dsa export --submit: {ts:7.2f} s  {statements / ts:10,.0f} statements/s  (exit {proc.returncode}; local mock answering 201)")
        print(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
