#!/usr/bin/env python3
"""Cut the committed data files of policies/sources/data/ out of their upstream sources.

  python3 policies/sources/extract.py UPSTREAM_DIR [SHARED_DATA_DIR]

Run only to refresh the data from newer upstream copies; `generate.py` rebuilds the
term sets from the committed data alone. UPSTREAM_DIR holds the upstream files under
the names below (each SOURCE line in data/README.md says where a file comes from):

  dod-prohibited/data.json            gooosetavo/dod-prohibited docs/data.json
  bdpm/CIS_bdpm.txt, CIS_CPD_bdpm.txt, CIS_COMPO_bdpm.txt
                                      ANSM BDPM (copy in giloop/pharmasso)
  cartridges.csv                      ammolytics/cartridges data/cartridges.csv
  blinkid/SupportedDocuments.md       BlinkID/blinkid-android documentation/SupportedDocuments.md
  cldr/<lang>/{currencies,units,listPatterns}.json
                                      unicode-org/cldr-json cldr-{numbers,units,misc}-full/main/<lang>/
  cn/cn{Headings,Subheadings,Codes}_2026.json, cn/messages_<lang>.yaml
                                      xterr/php-cncodes Resources/ (needs PyYAML)

SHARED_DATA_DIR (default ../shared/data beside the repository) holds the benign
corpora; they give the ordinary-words list that keeps candidate terms which are
everyday words (acetate, android, cat, coca, soufre...) out of the generated sets.
Only the standard library is used, except PyYAML for the CN translation files.
"""
import collections
import csv
import html
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, HERE)
import generate  # noqa: E402  (one folding and one set of candidate terms for both scripts)
from generate import EU_LANGS, fold  # noqa: E402

# EU and EEA countries -> the languages of their document names (BlinkID headings).
COUNTRIES = {
    "AUSTRIA": ["de"], "BELGIUM": ["fr", "nl", "de"], "BULGARIA": ["bg"], "CROATIA": ["hr"],
    "CYPRUS": ["el"], "CZECHIA": ["cs"], "CZECH REPUBLIC": ["cs"], "DENMARK": ["da"],
    "ESTONIA": ["et"], "FINLAND": ["fi"], "FRANCE": ["fr"], "GERMANY": ["de"], "GREECE": ["el"],
    "HUNGARY": ["hu"], "IRELAND": ["ga", "en"], "ITALY": ["it"], "LATVIA": ["lv"],
    "LITHUANIA": ["lt"], "LUXEMBOURG": ["fr", "de"], "MALTA": ["mt", "en"], "NETHERLANDS": ["nl"],
    "POLAND": ["pl"], "PORTUGAL": ["pt"], "ROMANIA": ["ro"], "SLOVAKIA": ["sk"], "SLOVENIA": ["sl"],
    "SPAIN": ["es"], "SWEDEN": ["sv"],
}
DOCUMENT_TYPES = ("Identity Card", "Paper Passport", "Polycarbonate Passport", "Passport",
                  "Driver's License", "Residence Permit")

# CN codes whose descriptions name product types the pack needs in every language.
CN_CODES = [
    "24021000", "240220", "24031100", "24039910",              # tobacco
    "28070000", "28080000", "28470000", "28299010",              # precursors (Annex I)
    "31025000", "310230", "29141100",
    "36010000", "36020000", "36031000", "36033000", "36036000", "36041000",  # explosives
    "93011000", "93012000", "93020000", "93031000", "93062100", "93070000",  # arms and ammunition
    "95030021",                                                  # dolls
]


def write(rel, text):
    path = os.path.join(DATA, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"{rel}: {len(text.encode())} bytes", file=sys.stderr)


def tsv(header, rows):
    return "\n".join("\t".join(r) for r in [header] + rows) + "\n"


def dod(upstream):
    items = json.load(open(os.path.join(upstream, "dod-prohibited", "data.json"), encoding="utf-8"))
    keep = []
    for item in items:
        reasons = sorted({r["reason"].replace("  ", " ") for r in json.loads(item.get("Reasons") or "[]")})
        reasons = [r for r in reasons if r.startswith(("DEA Controlled Substance List", "WADA"))]
        if reasons:
            names = json.loads(item.get("other_names") or "[]")
            keep.append({"name": item["Name"], "other_names": sorted(set(n.strip() for n in names if n.strip())),
                         "reasons": reasons})
    keep.sort(key=lambda x: x["name"].lower())
    write("dod-prohibited/substances.json", json.dumps(keep, ensure_ascii=False, indent=1) + "\n")


def bdpm(upstream):
    def rows(name):
        with open(os.path.join(upstream, "bdpm", name), encoding="utf-8-sig") as f:
            for line in f:
                yield line.rstrip("\n").split("\t")
    conditions = collections.defaultdict(set)
    for r in rows("CIS_CPD_bdpm.txt"):
        conditions[r[0]].add(r[1].strip().lower())
    names = {r[0]: r[1].strip() for r in rows("CIS_bdpm.txt")}
    listed = {"liste i", "liste ii", "stupéfiants"}

    def schedule(cis):
        c = conditions.get(cis, set())
        return "stupefiant" if "stupéfiants" in c else "liste" if c & listed else "none"
    substances = collections.defaultdict(collections.Counter)
    for r in rows("CIS_COMPO_bdpm.txt"):
        if len(r) > 6 and r[6] == "SA" and r[0] in names:
            substances[r[3].strip()][schedule(r[0])] += 1
    brands = collections.defaultdict(collections.Counter)
    for cis, name in names.items():
        brands[re.split(r"[ ,]", name)[0]][schedule(cis)] += 1
    cols = ["stupefiant", "liste", "none"]
    write("ansm-bdpm-2020/substances.tsv", tsv(["substance"] + [f"products_{c}" for c in cols],
          [[s] + [str(n[c]) for c in cols] for s, n in sorted(substances.items())]))
    write("ansm-bdpm-2020/brands.tsv", tsv(["first_word"] + [f"products_{c}" for c in cols],
          [[b] + [str(n[c]) for c in cols] for b, n in sorted(brands.items()) if b]))


def cartridges(upstream):
    with open(os.path.join(upstream, "cartridges.csv"), encoding="utf-8") as f:
        write("cip-saami-cartridges/cartridges.csv", f.read())


def blinkid(upstream):
    text = open(os.path.join(upstream, "blinkid", "SupportedDocuments.md"), encoding="utf-8").read()
    rows, country = [], None
    for line in text.splitlines():
        m = re.search(r"<h3>([^<]+)</h3>", line)
        if m:
            country = m.group(1).strip()
            continue
        cells = re.findall(r"<td[^>]*>(.*?)</td>", line)
        if country in COUNTRIES and len(cells) >= 2 and cells[0].strip() in DOCUMENT_TYPES:
            local = html.unescape(re.sub(r"<[^>]+>", "", cells[1])).strip()
            rows.append([country, cells[0].strip(), local])
    write("blinkid-documents/eu-eea-documents.tsv", tsv(["country", "document_type", "localised_name"], rows))


def cldr(upstream):
    currencies, units, conjunctions = {}, {}, {}
    wanted_units = ["length-millimeter", "length-centimeter", "length-meter", "length-inch", "length-foot",
                    "mass-milligram", "mass-gram", "mass-kilogram", "mass-pound", "volume-milliliter",
                    "volume-centiliter", "volume-deciliter", "volume-liter", "power-milliwatt", "power-watt",
                    "power-kilowatt", "electric-volt", "energy-joule", "duration-year", "duration-month"]
    for lang in EU_LANGS:
        base = os.path.join(upstream, "cldr", lang)
        c = json.load(open(os.path.join(base, "currencies.json"), encoding="utf-8"))
        c = c["main"][lang]["numbers"]["currencies"]
        currencies[lang] = {code: c[code] for code in ["EUR", "USD", "GBP", "CHF", "PLN", "CZK", "HUF", "RON",
                                                       "SEK", "DKK", "BGN"] if code in c}
        u = json.load(open(os.path.join(base, "units.json"), encoding="utf-8"))["main"][lang]["units"]
        patterns = json.load(open(os.path.join(base, "listPatterns.json"), encoding="utf-8"))
        patterns = patterns["main"][lang]["listPatterns"]
        conjunctions[lang] = {kind: patterns[f"listPattern-type-{kind}"]["2"] for kind in ["standard", "or"]}
        units[lang] = {width: {k: {p: v for p, v in u[width][k].items() if "Pattern" in p or p == "displayName"}
                               for k in wanted_units if k in u[width]} for width in ["long", "short"]}
    write("cldr-47/currencies.json", json.dumps(currencies, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    write("cldr-47/units.json", json.dumps(units, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    write("cldr-47/list-patterns.json",
          json.dumps(conjunctions, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def cn_texts(upstream):
    import yaml
    base = os.path.join(upstream, "cn")
    english = {}
    for kind in ["Headings", "Subheadings", "Codes"]:
        for item in json.load(open(os.path.join(base, f"cn{kind}_2026.json"), encoding="utf-8")):
            english[item["code"]] = item["name"]
    translations = {lang: yaml.safe_load(open(os.path.join(base, f"messages_{lang}.yaml"), encoding="utf-8"))
                    for lang in EU_LANGS if lang != "en"}
    out = {code: {"en": english[code], **{l: t.get(english[code], "") for l, t in translations.items()}}
           for code in CN_CODES}
    write("cn-2026/selected-codes.json", json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def ordinary_words(shared):
    """Folded words of everyday text: the benign corpora (retail listings in English,
    food labels in six EU languages). Not the CN texts, which name the very products
    the sets are about."""
    words = collections.Counter()
    for root, _, files in os.walk(shared):
        for name in files:
            if not name.endswith(".csv") or "product_listings" not in root:
                continue
            with open(os.path.join(root, name), newline="", encoding="utf-8") as f:
                for row in csv.reader(f):
                    words.update(fold(" ".join(row)).split())
    return words


def curation(words):
    """Single-word candidate terms of every generated set that are everyday words."""
    generate.CURATION["ordinary"] = set()
    generate.CURATION["excluded"] = set()
    found = set()
    for build in generate.GENERATED.values():
        for s in build():
            for terms in s.terms.values():
                for folded in terms:
                    # The engine accepts a final s/es, so `ceris` also reads `cerises`.
                    seen = words[folded] + words[folded + "s"] + words[folded + "es"]
                    if " " not in folded and seen >= 1:
                        found.add((folded, str(seen)))
    rows = sorted(found)
    write("curation/ordinary-words.tsv", tsv(["folded_word", "occurrences_in_everyday_text"], [list(r) for r in rows]))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    upstream = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "..", "shared", "data")
    dod(upstream)
    bdpm(upstream)
    cartridges(upstream)
    blinkid(upstream)
    cldr(upstream)
    cn_texts(upstream)
    curation(ordinary_words(shared))


if __name__ == "__main__":
    main()
