#!/usr/bin/env python3
"""Assemble the semantic evaluation set (see SOURCES.md) into one JSONL file.

  build.py OUT.jsonl

Reads ../shared/data (or $REMPART_DATA); only the standard library is used.
"""
import csv
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import corpus  # noqa: E402  (bench/corpus.py: the shared corpora as listings)

GATE = os.path.join(corpus.DATA, "eu_safety_gate")
# Words that bring a benign listing near a watched policy, and how many of each to keep.
LOOKALIKE = re.compile(r"\b(doll|dolls|poupée|puppe|muñeca|bambola|mannequin|laser|hemp|chanvre|hanf|cannabis|cbd|"
                       r"kush|gelato|haze|flower|flowers|fleurs|buds|herbal|powder)\b", re.I)
PER_WORD = 60


def safety_gate():
    for name in ("safety_gate_alerts_a.csv", "safety_gate_alerts_b.csv"):
        with open(os.path.join(GATE, name), newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("product_category", "").strip().lower() != "laser pointers":
                    continue
                title = " ".join(x for x in (row.get("product_name"), row.get("product_description")) if x).strip()
                # The two exports overlap: one row per alert.
                yield {"id": f"SG:{row['alert_number']}", "title": title,
                       "expected": "review", "expected_policies": ["laser_pointers"]}
    with open(os.path.join(GATE, "soi_sk_dangerous_products.csv"), newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f)):
            if "laser" in row["product_name"].lower():
                yield {"id": f"SOI:{n + 2}", "title": row["product_name"].strip(),
                       "expected": "review", "expected_policies": ["laser_pointers"]}


def lookalikes():
    kept = {}
    for rel in corpus.SOURCES:
        for item in corpus.listings(rel):
            text = item["title"] + " " + item.get("description", "")[:300]
            m = LOOKALIKE.search(text)
            if not m:
                continue
            word = m.group(1).lower()
            if kept.get(word, 0) >= PER_WORD:
                continue
            kept[word] = kept.get(word, 0) + 1
            item = {k: v for k, v in item.items() if k in ("id", "title", "description", "category", "language")}
            if "description" in item:
                item["description"] = item["description"][:300]
            item["expected"] = "allow"
            yield item


def main(out):
    seen = set()
    with open(out, "w", encoding="utf-8") as f:
        with open(os.path.join(HERE, "handwritten.jsonl"), encoding="utf-8") as hand:
            rows = [json.loads(line) for line in hand if line.strip()]
        for item in rows + list(safety_gate()) + list(lookalikes()):
            if item["id"] in seen:
                continue
            seen.add(item["id"])
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
