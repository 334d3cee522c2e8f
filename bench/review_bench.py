#!/usr/bin/env python3
"""Review-queue benchmark: the real `rempart serve` on 127.0.0.1, SQLite.

  python3 bench/review_bench.py [REVIEWERS] [ITEMS] [QUEUE]
      (defaults: 20 reviewers, 2,000 items to decide, a 1,000,000-item queue)

Part 1, claim/decide round trip. Submits ITEMS listings the default pack sends
to review (through POST /v1/listings, batches of 500), then REVIEWERS threads,
each with its own reviewer key and its own HTTP connection, loop:
POST /v1/reviews/claim-next, then POST /v1/reviews/{id}/decision (allow,
no_violation), until the queue is empty. One round trip = claim + decision,
both committed to the database and the audit log before they answer
(durability `full`: fsync per group commit). Reports p50/p90/p99/max of the
round trip, decisions per second, and checks afterwards that every item was
decided exactly once (no two reviewers ever held the same item).

Part 2, a queue of QUEUE pending items. Writes them straight into a second
database with sqlite3 (the same rows reviews::open writes: reviews plus the
per-policy index review_policies; 4 policies, 5 sources, spread severities),
then times, over HTTP, each query 20 times: the first page, a page 500 pages
deep (keyset `after`), a policy filter, a source filter, a policy filter deep,
and the counts (kept in review_counts since migration 4; seeded here as
`reviews::recount` would). Reports the median and the worst.

Builds rempart in release mode first (or measures REMPART_BIN as it is).
"""
import http.client
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# REMPART_BIN: measure another build (then nothing is built here).
BIN = os.environ.get("REMPART_BIN") or os.path.join(ROOT, "target", "release", "rempart")


def sh(*args):
    out = subprocess.run([BIN, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip() else None


def serve(db):
    log = open(db + ".serve.log", "w+")
    proc = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:0"], stdout=subprocess.DEVNULL,
                            stderr=log)
    for _ in range(600):
        log.seek(0)
        text = log.read()
        if "listening on http://" in text:
            addr = text.split("listening on http://")[1].split()[0]
            host, port = addr.rsplit(":", 1)
            return proc, host, int(port)
        if proc.poll() is not None:
            sys.exit("serve exited: " + text)
        time.sleep(0.1)
    sys.exit("serve never listened")


class Client:
    def __init__(self, host, port, key):
        self.conn = http.client.HTTPConnection(host, port, timeout=120)
        self.key = key

    def call(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.key}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def round_trips(reviewers, items, tmp):
    db = os.path.join(tmp, "rt.db")
    sh("init", "--db", db)
    submitter = sh("keys", "create", "--db", db, "--role", "submitter", "--label", "bench")["secret"]
    keys = [sh("keys", "create", "--db", db, "--role", "reviewer", "--label", f"r{i}")["secret"]
            for i in range(reviewers)]
    proc, host, port = serve(db)
    try:
        c = Client(host, port, submitter)
        for start in range(0, items, 500):
            batch = [{"id": f"W-{i}", "title": f"Replica watch 1:1 AAA quality, model {i}", "seller": {"id": f"S-{i}"}}
                     for i in range(start, min(items, start + 500))]
            status, body = c.call("POST", "/v1/listings", {"listings": batch})
            assert status == 200, body
            assert all(r["decision"]["verdict"] == "review" for r in body["results"]), body["results"][:2]
        lat, errors, decided = [], [], []
        lock = threading.Lock()

        def reviewer(key):
            cl = Client(host, port, key)
            while True:
                t0 = time.perf_counter()
                s, got = cl.call("POST", "/v1/reviews/claim-next", {})
                if s == 204:
                    return
                if s != 200:
                    with lock:
                        errors.append((s, got))
                    return
                rid = got["item"]["review_id"]
                s, out = cl.call("POST", f"/v1/reviews/{rid}/decision", {"outcome": "allow", "reason": "no_violation"})
                t1 = time.perf_counter()
                with lock:
                    if s == 200:
                        lat.append(t1 - t0)
                        decided.append(rid)
                    else:
                        errors.append((s, out))

        threads = [threading.Thread(target=reviewer, args=(k,)) for k in keys]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait()
    con = sqlite3.connect(db)
    closed = con.execute("SELECT COUNT(*) FROM reviews WHERE status = 'closed'").fetchone()[0]
    outcomes = con.execute("SELECT COUNT(*), COUNT(DISTINCT review_id) FROM review_outcomes").fetchone()
    con.close()
    assert not errors, errors[:3]
    assert len(decided) == len(set(decided)) == items == closed == outcomes[0] == outcomes[1], \
        (len(decided), len(set(decided)), closed, outcomes)
    ms = [x * 1000 for x in lat]
    return {"round_trips": len(ms), "p50_ms": pct(ms, 50), "p90_ms": pct(ms, 90), "p99_ms": pct(ms, 99),
            "max_ms": max(ms), "decisions_per_s": len(ms) / wall, "wall_s": wall}


POLICIES = ["child_like_sex_doll", "weapons_category_a_b", "counterfeit_goods", "tobacco"]
SOURCES = [("detection", 1), ("relisting", 1), ("notice", 2), ("trusted_flagger", 3), ("order", 4)]


def big_queue(n, tmp):
    db = os.path.join(tmp, "q.db")
    sh("init", "--db", db)
    reviewer = sh("keys", "create", "--db", db, "--role", "reviewer", "--label", "bench")["secret"]
    con = sqlite3.connect(db)
    t0 = time.perf_counter()
    base = int(time.time() * 1000) - n
    rows, pol = [], []
    for i in range(n):
        rid = str(uuid.UUID(int=i))
        source, priority = SOURCES[i % 97 % 5]
        policy = POLICIES[i % 4]
        severity = (10, 20, 30)[i % 3]
        rows.append((rid, f"Q-{i}", 1, f"d-{i}", "pending", source, severity, priority, policy, base + i,
                     f"S-{i % 5000}", f"Listing title {i}"))
        pol.append((policy, rid, severity, priority, base + i))
    con.executemany("INSERT INTO reviews (review_id, listing_id, version, decision_id, status, source, severity, "
                    "priority, policies, created_at, seller_id, title) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.executemany("INSERT INTO review_policies (policy, review_id, severity, priority, created_at) "
                    "VALUES (?,?,?,?,?)", pol)
    # The kept counts (migration 4) as the store would have them: the
    # rows above bypass it, so count them once here, as `reviews::recount` does.
    con.execute("DELETE FROM review_counts")
    con.execute("INSERT INTO review_counts (dimension, key, n) SELECT 'status', status, COUNT(*) FROM reviews GROUP BY status")
    con.execute("INSERT INTO review_counts (dimension, key, n) SELECT 'pending_source', source, COUNT(*) FROM reviews "
                "WHERE status = 'pending' GROUP BY source")
    con.execute("INSERT INTO review_counts (dimension, key, n) SELECT 'pending_policy', policy, COUNT(*) "
                "FROM review_policies GROUP BY policy")
    con.commit()
    con.execute("ANALYZE")
    con.close()
    seeded = time.perf_counter() - t0
    proc, host, port = serve(db)
    out = {"items": n, "seed_s": seeded}
    try:
        c = Client(host, port, reviewer)

        def timed(path, reps=20):
            xs = []
            for _ in range(reps):
                t = time.perf_counter()
                s, body = c.call("GET", path)
                xs.append((time.perf_counter() - t) * 1000)
                assert s == 200, (path, body)
            return body, {"median_ms": statistics.median(xs), "max_ms": max(xs)}

        def deep(path, pages):
            # Walk `pages` pages of 100 to find a cursor deep in the queue.
            after = None
            for _ in range(pages):
                s, body = c.call("GET", path + ("&after=" + after if after else ""))
                after = body["next"]
            return after

        body, out["first_page"] = timed("/v1/reviews?status=pending&limit=100")
        assert len(body["items"]) == 100
        cursor = deep("/v1/reviews?status=pending&limit=1000", 50)
        _, out["page_50000_deep"] = timed(f"/v1/reviews?status=pending&limit=100&after={cursor}")
        body, out["policy_filter"] = timed("/v1/reviews?status=pending&policy=counterfeit_goods&limit=100")
        assert all("counterfeit_goods" in i["policies"] for i in body["items"])
        body, out["source_filter"] = timed("/v1/reviews?status=pending&source=order&limit=100")
        assert all(i["source"] == "order" for i in body["items"])
        cursor = deep("/v1/reviews?status=pending&policy=weapons_category_a_b&limit=1000", 50)
        _, out["policy_filter_50000_deep"] = timed(
            f"/v1/reviews?status=pending&policy=weapons_category_a_b&limit=100&after={cursor}")
        body, out["counts"] = timed("/v1/reviews/counts", reps=5)
        assert dict(body["by_status"]).get("pending") == n, body
    finally:
        proc.terminate()
        proc.wait()
    return out


def main():
    reviewers = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    queue = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    if not os.environ.get("REMPART_BIN"):
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "rempart"], cwd=ROOT, check=True)
    print(f"# {platform.node()} · {os.cpu_count()} cores · {time.strftime('%Y-%m-%d')}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        rt = round_trips(reviewers, items, tmp)
        print(json.dumps({"claim_decide": {"reviewers": reviewers, **rt}}))
        q = big_queue(queue, tmp)
        print(json.dumps({"queue": q}))


if __name__ == "__main__":
    main()
