#!/usr/bin/env python3
"""Turn the shared real-data corpora into rempart listings (JSONL).

  corpus.py benign OUT_DIR        one JSONL file per source CSV, mapped to the listing contract
  corpus.py bench N OUT_FILE      N listings cycling the benign corpora, with 1 in 200
                                  drawn from examples/listings.jsonl (policy-relevant)
  corpus.py catalogue N OUT_FILE  the same as a marketplace catalogue dump: each listing
                                  has a seller (50,000 sellers, a few large ones) and a
                                  destination (ship_to), for `rempart sweep`
  corpus.py cyrillic N OUT_FILE   bench N with the Latin letters of every text written in
                                  Cyrillic, digits kept: a stand-in for a catalogue in a
                                  language folding cannot bring to ASCII (Bulgarian), whose
                                  numbers sit among non-ASCII word characters

The data lives in ../shared/data (see its README); nothing here is copied
into the repository. Only the standard library is used.
"""
import csv
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("REMPART_DATA", os.path.join(ROOT, "..", "shared", "data"))
csv.field_size_limit(1 << 24)

# source file -> (id column, title columns, description columns, category column, attribute columns)
EN = "product_listings_en"
SOURCES = {
    f"{EN}/amazon_google/amazon.csv": ("id", ["title"], ["description"], None, ["manufacturer"]),
    f"{EN}/amazon_google/google.csv": ("id", ["title"], ["description"], None, ["manufacturer"]),
    f"{EN}/walmart_amazon/walmart.csv": ("id", ["title"], ["proddescrlong"], "category", ["brand", "modelno"]),
    f"{EN}/baby_products/buybuybaby.csv": ("int_id", ["title"], [], "category",
                                           ["brand", "weight", "length", "width", "height", "fabrics", "colors", "materials"]),
    f"{EN}/baby_products/babiesrus.csv": ("int_id", ["title"], [], "category",
                                          ["brand", "weight", "length", "width", "height", "fabrics", "colors", "materials"]),
    f"{EN}/electronics/amazon_electronics.csv": ("ID", ["Name"], ["Features"], None, ["Brand"]),
    f"{EN}/cosmetics/tableA.csv": ("Product_id", ["Description"], [], None, ["Color"]),
    f"{EN}/cosmetics/tableB_amazon.csv": ("ID", ["Description"], [], None, ["Color"]),
    "product_listings_eu_openfoodfacts/openfoodfacts_eu_sample.csv": ("barcode", ["product_name"], ["ingredients_text"], None, []),
}


def listings(rel):
    id_col, title_cols, desc_cols, cat_col, attr_cols = SOURCES[rel]
    name = rel.split("/")[-2] + "/" + rel.split("/")[-1].removesuffix(".csv")
    with open(os.path.join(DATA, rel), newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f)):
            title = " ".join(row.get(c, "") or "" for c in title_cols).strip()
            if not title:
                continue
            item = {"id": f"{name}:{n + 2}:{row.get(id_col, '')}", "title": title[:8000]}
            desc = " ".join(row.get(c, "") or "" for c in desc_cols).strip()
            if desc:
                item["description"] = desc[:200000]
            if cat_col and row.get(cat_col):
                item["category"] = row[cat_col][:2000]
            attrs = {c: row[c] for c in attr_cols if row.get(c)}
            if attrs:
                item["attributes"] = attrs
            if "lang" in row:
                item["language"] = row["lang"]
            yield item


def benign(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for rel in SOURCES:
        out = os.path.join(out_dir, rel.split("/")[-2] + "__" + rel.split("/")[-1].replace(".csv", ".jsonl"))
        with open(out, "w", encoding="utf-8") as f:
            count = 0
            for item in listings(rel):
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
                count += 1
        print(f"{out}: {count}", file=sys.stderr)


def bench(n, out_file):
    pool = [item for rel in SOURCES for item in listings(rel)]
    with open(os.path.join(ROOT, "examples", "listings.jsonl"), encoding="utf-8") as f:
        flagged = [json.loads(line) for line in f if line.strip()]
    with open(out_file, "w", encoding="utf-8") as f:
        for i in range(n):
            src = flagged[(i // 200) % len(flagged)] if i % 200 == 199 else pool[i % len(pool)]
            item = dict(src)
            item["id"] = f"B-{i}"
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


# One Cyrillic letter per Latin one, letter by letter (not a real
# transliteration: only the script matters to the benchmark).
CYRILLIC = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                         "абцдефгхийклмнопярстувшжызАБЦДЕФГХИЙКЛМНОПЯРСТУВШЖЫЗ")


def cyrillic(n, out_file):
    bench(n, out_file)
    with open(out_file, encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    with open(out_file, "w", encoding="utf-8") as f:
        for item in items:
            for field in ("title", "description", "category"):
                if isinstance(item.get(field), str):
                    item[field] = item[field].translate(CYRILLIC)
            if isinstance(item.get("attributes"), dict):
                item["attributes"] = {k: v.translate(CYRILLIC) if isinstance(v, str) else v
                                      for k, v in item["attributes"].items()}
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


def catalogue(n, out_file, sellers=50_000):
    """bench() with sellers and destinations, deterministic (no random state)."""
    pool = [item for rel in SOURCES for item in listings(rel)]
    with open(os.path.join(ROOT, "examples", "listings.jsonl"), encoding="utf-8") as f:
        flagged = [json.loads(line) for line in f if line.strip()]
    destinations = [["FR"], ["FR", "BE"], ["DE"], ["ES"], ["IT"], ["FR", "DE", "IT", "ES"], ["NL"], ["PL"], []]
    with open(out_file, "w", encoding="utf-8") as f:
        for i in range(n):
            src = flagged[(i // 200) % len(flagged)] if i % 200 == 199 else pool[i % len(pool)]
            item = dict(src)
            item["id"] = f"C-{i}"
            # A few large sellers and a long tail: seller k holds about 1/k of the listings.
            h = (i * 2654435761) % 1_000_003
            k = 1 + (h * h) % sellers if h % 3 else 1 + h % 20
            item["seller"] = {"id": f"S-{k}"}
            if src.get("ship_to") is None:
                item["ship_to"] = destinations[h % len(destinations)]
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "benign":
        benign(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "bench":
        bench(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "catalogue":
        catalogue(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "cyrillic":
        cyrillic(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)
