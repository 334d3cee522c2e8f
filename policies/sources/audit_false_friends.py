#!/usr/bin/env python3
"""Audit the pack for false friends: terms listed under one language that are ordinary
words in another EU language.

  python3 policies/sources/audit_false_friends.py CN_DIR [SHARED_DATA_DIR] [--sets a,b,c]

CN_DIR holds the Combined Nomenclature texts of xterr/php-cncodes (cn{Headings,Subheadings,
Codes}_2026.json and messages_<lang>.yaml, see extract.py): their descriptions, in the 23 EU
languages besides English, are the everyday-product vocabulary of each language. The benign
corpora (SHARED_DATA_DIR, default ../shared/data) add English retail text and food labels in
fr/de/es/it/nl/pl. For every single-word term (terms of the `any` key aside) the report lists
the other languages in which the word occurs, and whether the set already binds it to its own
language (`false_friends`). Output: TSV on stdout, most widespread collisions first.
A collision is not always a false friend (a loanword means the same thing everywhere); a
person reads the report, marks real false friends in the pack and adds a look-alike test.
Needs Python 3.11 (tomllib) and PyYAML.
"""
import collections
import csv
import json
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate import EU_LANGS, fold  # noqa: E402

PACK = os.path.join(HERE, "..")


def vocabularies(cn_dir, shared):
    import yaml
    words = {lang: collections.Counter() for lang in EU_LANGS}
    english = []
    for kind in ["Headings", "Subheadings", "Codes"]:
        with open(os.path.join(cn_dir, f"cn{kind}_2026.json"), encoding="utf-8") as f:
            english += [item["name"] for item in json.load(f)]
    for text in english:
        words["en"].update(fold(text).split())
    for lang in EU_LANGS:
        if lang == "en":
            continue
        with open(os.path.join(cn_dir, f"messages_{lang}.yaml"), encoding="utf-8") as f:
            for value in yaml.safe_load(f).values():
                if isinstance(value, str):
                    words[lang].update(fold(value).split())
    food = os.path.join(shared, "product_listings_eu_openfoodfacts", "openfoodfacts_eu_sample.csv")
    with open(food, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("lang") in words:
                words[row["lang"]].update(fold(row["product_name"] + " " + row["ingredients_text"]).split())
    for root, _, files in os.walk(os.path.join(shared, "product_listings_en")):
        for name in files:
            if name.endswith(".csv"):
                with open(os.path.join(root, name), newline="", encoding="utf-8") as f:
                    for row in csv.reader(f):
                        words["en"].update(fold(" ".join(row)).split())
    return words


def pack_terms(only):
    for root, dirs, files in os.walk(PACK):
        dirs[:] = [d for d in dirs if d != "sources"]
        for name in sorted(files):
            if not name.endswith(".toml"):
                continue
            with open(os.path.join(root, name), "rb") as f:
                data = tomllib.load(f)
            for set_name, body in data.get("terms", {}).items():
                if only and set_name not in only:
                    continue
                friends = {fold(t) for t in body.get("false_friends", [])}
                listed = collections.defaultdict(set)
                for lang, terms in body.items():
                    if lang in EU_LANGS and isinstance(terms, list):
                        for term in terms:
                            listed[fold(term.strip("*"))].add(lang)
                for lang, terms in body.items():
                    if lang in EU_LANGS and isinstance(terms, list):
                        for term in terms:
                            folded = fold(term.strip("*"))
                            if folded and " " not in folded:
                                yield set_name, lang, term, folded, folded in friends, listed[folded]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--sets")]
    if not args:
        sys.exit(__doc__)
    only = set()
    for a in sys.argv[1:]:
        if a.startswith("--sets"):
            only = set(a.split("=", 1)[1].split(",")) if "=" in a else set()
    shared = args[1] if len(args) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "data")
    words = vocabularies(args[0], shared)
    rows = []
    for set_name, lang, term, folded, bound, listed in pack_terms(only):
        # A cognate the set lists under those languages too is the same word, not a false friend.
        others = sorted((l, words[l][folded]) for l in EU_LANGS if l not in listed and words[l][folded] > 0)
        if others and not words[lang][folded] >= sum(n for _, n in others):
            rows.append((len(others), set_name, lang, term, "bound" if bound else "-",
                         " ".join(f"{l}:{n}" for l, n in others)))
    rows.sort(key=lambda r: (-r[0], r[1], r[3]))
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(["other_languages", "set", "listed_under", "term", "false_friend", "found_in"])
    for r in rows:
        out.writerow(r)


if __name__ == "__main__":
    main()
