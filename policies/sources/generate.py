#!/usr/bin/env python3
"""Rebuild the generated term sets of the pack (policies/vocab/*.toml) from the data files
in policies/sources/data/.

  python3 policies/sources/generate.py            write policies/vocab/
  python3 policies/sources/generate.py --check    exit 1 if any file would change

Every term written comes from a data file (its source, version and licence are in
data/README.md) by the rule stated next to it here; nothing is added by hand. A
generated single-word term that is an everyday word (data/curation/ordinary-words.tsv:
found in the benign corpora of real retail listings and food labels) is left out, and so are
the spellings data/curation/exclude.tsv lists with a reason. Output is byte-for-byte
stable: sorted, deduplicated after folding, one file per subject.
Only the standard library is used.
"""
import csv
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "..", "vocab")

EU_LANGS = ["bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
            "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv"]


def fold(text):
    """Case, accents and separators folded, roughly as the engine folds text: for
    comparing spellings, never written out."""
    if re.search(r"[a-z]", text.lower()):
        # Greek letters in chemical names (`α-pvp`) fold to Latin look-alikes, as in the engine.
        text = text.translate(str.maketrans("αβγδΑΒ", "abgdab"))
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def read_tsv(rel):
    with open(os.path.join(DATA, rel), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def read_json(rel):
    with open(os.path.join(DATA, rel), encoding="utf-8") as f:
        return json.load(f)


CURATION = {}


def curation():
    """Everyday words and excluded spellings, read once (extract.py sets `ordinary`
    empty to list every candidate term)."""
    if not CURATION:
        CURATION["ordinary"] = {r["folded_word"] for r in read_tsv("curation/ordinary-words.tsv")}
        CURATION["excluded"] = {(r["set"], fold(r["spelling"])) for r in read_tsv("curation/exclude.tsv")}
    return CURATION["ordinary"], CURATION["excluded"]


def keep(set_name, term, min_letters=3):
    """The curation rules every generated term passes (calibre designations are
    numbers and letters by nature, so the fragment rule skips them)."""
    ORDINARY, EXCLUDED = curation()
    folded = fold(term)
    if len(folded.replace(" ", "")) < min_letters or not re.search(r"[^\W\d_]", folded):
        return False
    # Fragments (`a et`, `ta 1`): some word must have three letters.
    if not set_name.startswith("calibre") and not any(len(re.sub(r"[\d_]", "", w)) >= 3 for w in folded.split()):
        return False
    if " " not in folded and folded in ORDINARY:
        return False
    return (set_name, folded) not in EXCLUDED


class Set:
    def __init__(self, name, description, source):
        self.name, self.description, self.source = name, description, source
        self.terms = {}  # lang -> {folded: spelling}
        self.patterns = []

    def add(self, lang, term):
        term = " ".join(term.split())
        if not keep(self.name, term):
            return
        folded = fold(term)
        # A spelling shared by several languages is listed once, under the first.
        if any(folded in t for t in self.terms.values()):
            return
        self.terms.setdefault(lang, {})[folded] = term.lower()

    def toml(self):
        lines = [f"[terms.{self.name}]", f"description = {q(self.description)}", f"source = {q(self.source)}"]
        for lang in sorted(self.terms, key=lambda l: (l != "any", l)):
            spellings = sorted(self.terms[lang].values(), key=lambda s: (fold(s), s))
            lines.append(f"{lang} = [")
            lines.extend(f"  {q(s)}," for s in spellings)
            lines.append("]")
        if self.patterns:
            lines.append("patterns = [" + ", ".join(q(p, literal=True) for p in self.patterns) + "]")
        return "\n".join(lines) + "\n"

    def size(self):
        return sum(len(t) for t in self.terms.values())


def q(text, literal=False):
    if literal and "'" not in text:
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


# ------------------------------------------------------------------ narcotics

ANNEXES = ["annexe-i", "annexe-ii", "annexe-iii", "annexe-iv"]
# Where a designation stops being a name: salts, exceptions, preparations.
NAME_END = re.compile(r",|;| \(| - | et ses | et son | et leurs | à l'exception|\"")


def stupefiants():
    """Arrêté du 22 février 1990, annexes I-IV: every designation's name and its `ou`
    aliases, from lines that start a designation (an upper-case letter, a digit or `*`);
    continuation lines start in lower case and are skipped."""
    s = Set("stupefiants_fr_1990",
            "Substances classed as narcotics in France (arrêté du 22 février 1990, annexes I to IV)",
            "Légifrance, arrêté du 22 février 1990 fixant la liste des substances classées comme stupéfiants, "
            "annexes I-IV as exported by etalab/lois-non-codifiees-et-reglements-francais (commits c402a7a, "
            "44b46c8, 10240ab); Licence Ouverte 2.0. Generated by policies/sources/generate.py")
    for annex in ANNEXES:
        with open(os.path.join(DATA, "fr-arrete-1990-stupefiants", annex + ".md"), encoding="utf-8") as f:
            for line in f:
                line = line.strip().lstrip("*")
                if not line or not re.match(r"[A-ZÀ-Ý0-9]", line) or line.startswith(("Les ", "Cette ")):
                    continue
                # Locant commas (`2,5-diméthoxy`) belong to chemical names, not lists.
                line = re.sub(r"(\d),(\d)", r"\1#\2", line)
                name = NAME_END.split(line)[0]
                for alias in re.split(r" ou | et ", name):
                    if len(alias.split()) <= 3 and not re.search(r"[#()]", alias):
                        s.add("fr", alias)
    return s


def dod_sets():
    """DEA schedules and WADA classes, names and other names, from the DoD prohibited
    list export: names of at most three words without chemical notation."""
    items = read_json("dod-prohibited/substances.json")
    sets = {
        "dea_schedule_1": Set("dea_schedule_1", "US DEA Schedule I substances and their other names",
                              "US DEA Controlled Substance List, Schedule I, via gooosetavo/dod-prohibited "
                              "docs/data.json (commit 2f79f50, 2026-03-15; MIT). Generated by "
                              "policies/sources/generate.py"),
        "dea_schedule_2_5": Set("dea_schedule_2_5", "US DEA Schedule II-V substances (controlled medicines) "
                                "and their other names, trade names included",
                                "US DEA Controlled Substance List, Schedules II-V, via gooosetavo/dod-prohibited "
                                "docs/data.json (commit 2f79f50, 2026-03-15; MIT). Generated by "
                                "policies/sources/generate.py"),
        "wada_anabolic": Set("wada_anabolic", "WADA Prohibited List S1 anabolic agents (steroids, SARMs)",
                             "WADA Prohibited List S1, via gooosetavo/dod-prohibited docs/data.json (commit "
                             "2f79f50, 2026-03-15; MIT). Generated by policies/sources/generate.py"),
        "wada_hormones": Set("wada_hormones", "WADA Prohibited List S2 peptide hormones and growth factors, S4 "
                             "hormone and metabolic modulators",
                             "WADA Prohibited List S2 and S4, via gooosetavo/dod-prohibited docs/data.json "
                             "(commit 2f79f50, 2026-03-15; MIT). Generated by policies/sources/generate.py"),
    }
    for item in items:
        reasons = " ".join(item["reasons"])
        targets = []
        if "Schedule I" in reasons and not re.search(r"Schedule I[IV]", reasons):
            targets.append("dea_schedule_1")
        if re.search(r"Schedule (II|III|IV|V)\b", reasons):
            targets.append("dea_schedule_2_5")
        if "WADA S1" in reasons:
            targets.append("wada_anabolic")
        if "WADA S2" in reasons or "WADA S4" in reasons:
            targets.append("wada_hormones")
        for i, name in enumerate([item["name"]] + item["other_names"]):
            # Chemical nomenclature (long names with locants) is not what sellers
            # write; short letter-only aliases (`cps`, `dht`) are abbreviations of
            # too many other things, while codes with digits (`jwh-018`) are kept.
            chemical = len(name) > 20 and re.search(r"\d", name)
            abbreviation = i > 0 and len(name) < 5 and name.isalpha()
            if len(name.split()) > 3 or chemical or abbreviation or re.search(r"[(),\[\]]|\d,\d|®|™", name):
                continue
            for target in targets:
                sets[target].add("en", name)
    return list(sets.values())


# ---------------------------------------------------------------- medicines

SALTS = ("chlorhydrate", "sulfate", "maléate", "tartrate", "citrate", "phosphate", "bromhydrate", "fumarate",
         "succinate", "mésilate", "bésilate", "acétate", "dipropionate", "propionate", "valérate", "sodique",
         "potassique", "calcique", "magnésique", "monohydraté", "dihydraté", "trihydraté", "anhydre", "base",
         "hémihydraté", "hydrochlorothiazide")


def inn(substance):
    """The INN of a BDPM substance name with its salt removed (`ABACAVIR (SULFATE D')`);
    a parenthesis that is not a salt names another compound (`SOUFRE (HEXAFLUORURE DE)`
    is sulfur hexafluoride) and the name is left out."""
    name = substance.lower()
    for inner in re.findall(r"\((.*?)\)", name):
        words = [w for w in re.split(r"[ ']+", inner) if w and w not in ("de", "d", "du")]
        if not words or any(w not in SALTS for w in words):
            return None
    name = re.sub(r"\(.*?\)|\[.*?\]", " ", name)
    words = [w for w in re.split(r"[ ']+", name) if w and w not in SALTS and w not in ("de", "d", "du")]
    return words[0] if len(words) == 1 and words[0].isalpha() and len(words[0]) >= 5 else None


def bdpm_sets():
    """ANSM BDPM (2020): substances all of whose products are on liste I, liste II or
    the stupéfiants list (prescription only), and the brand names (first word of the
    denomination) all of whose products are; brands that are a substance name are
    generics and left to the substance set."""
    source = ("ANSM, Base de données publique des médicaments (BDPM), files CIS_bdpm, CIS_CPD, CIS_COMPO as "
              "copied in giloop/pharmasso (commit 6d7b276, 2020-11-18); Licence Ouverte. Generated by "
              "policies/sources/generate.py")
    substances = Set("rx_substance_fr", "Prescription-only active substances in France (every product that "
                     "contains them is on liste I, liste II or the stupéfiants list); the INN as ANSM writes it, "
                     "and without its final e (the English/German -in form)", source)
    brands = Set("rx_brand_fr", "Brand names of prescription-only medicines in France (every product of the "
                 "brand is on liste I, liste II or the stupéfiants list)", source)
    totals = {}
    for row in read_tsv("ansm-bdpm-2020/substances.tsv"):
        name = inn(row["substance"])
        if name:
            rx = int(row["products_stupefiant"]) + int(row["products_liste"])
            t = totals.setdefault(name, [0, 0])
            t[0] += rx
            t[1] += int(row["products_none"])
    names = set()
    for name, (rx, none) in sorted(totals.items()):
        names.add(fold(name))
        if rx and not none:
            substances.add("fr", name)
            if name.endswith("ine"):
                substances.add("fr", name[:-1])
    for row in read_tsv("ansm-bdpm-2020/brands.tsv"):
        brand = row["first_word"]
        rx = int(row["products_stupefiant"]) + int(row["products_liste"])
        if rx and row["products_none"] == "0" and brand.isalpha() and len(brand) >= 4 and fold(brand) not in names:
            brands.add("fr", brand.lower())
    return [substances, brands]


# ------------------------------------------------------------------ calibres

def calibres():
    """C.I.P. and SAAMI cartridge names, with the spellings retailers use for the
    `A x B` metric designations (`5.45x39`, `5,45 x 39`)."""
    s = Set("calibre_cip_saami", "Cartridge designations of the C.I.P. and SAAMI tables",
            "C.I.P. and SAAMI cartridge tables via ammolytics/cartridges data/cartridges.csv (commit 3448be2, "
            "2022-11-11; MIT). Generated by policies/sources/generate.py")
    with open(os.path.join(DATA, "cip-saami-cartridges", "cartridges.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = re.sub(r"\(.*?\)", "", row["name"]).strip()
            if not re.search(r"[A-Za-z]", name) and " x " not in name:
                continue
            spellings = [name]
            if " x " in name:
                spellings += [name.replace(" x ", "x"), name.replace(" x ", "x").replace(".", ",")]
            for spelling in spellings:
                if len(spelling.split()) <= 4:
                    s.add("any", spelling)
    return [s]


# ------------------------------------------------------------------ documents

def documents():
    """Identity documents of EU/EEA countries by their local names (BlinkID's table of
    supported documents: `Localised Document Name`), keyed by the country's languages;
    names given as `A / B` are split."""
    s = Set("identity_document_local", "Names of identity cards, passports, driving licences and residence "
            "permits of EU/EEA countries in their own languages",
            "BlinkID/blinkid-android documentation/SupportedDocuments.md (commit dc8c680, 2026-03-04), the "
            "`Localised Document Name` column for EU/EEA countries (facts listed by a vendor; PRADO is the "
            "reference register). Generated by policies/sources/generate.py")
    languages = {"AUSTRIA": "de", "BELGIUM": "fr", "BULGARIA": "bg", "CROATIA": "hr", "CYPRUS": "el",
                 "CZECHIA": "cs", "CZECH REPUBLIC": "cs", "DENMARK": "da", "ESTONIA": "et", "FINLAND": "fi",
                 "FRANCE": "fr", "GERMANY": "de", "GREECE": "el", "HUNGARY": "hu", "IRELAND": "ga", "ITALY": "it",
                 "LATVIA": "lv", "LITHUANIA": "lt", "LUXEMBOURG": "fr", "MALTA": "mt", "NETHERLANDS": "nl",
                 "POLAND": "pl", "PORTUGAL": "pt", "ROMANIA": "ro", "SLOVAKIA": "sk", "SLOVENIA": "sl",
                 "SPAIN": "es", "SWEDEN": "sv"}
    for row in read_tsv("blinkid-documents/eu-eea-documents.tsv"):
        for name in re.split(r"[/,]", re.sub(r"\(.*?\)", "", row["localised_name"])):
            name = name.strip()
            if name and len(name.split()) <= 4 and not re.search(r"\d", name):
                s.add(languages[row["country"]], name)
    return [s]


# ------------------------------------------------------------------ currencies

def currencies():
    """CLDR names of the euro and the other EU currencies, the US dollar, pound and
    Swiss franc, in each EU language (singular and plural), and their symbols."""
    s = Set("currency_cldr", "Currency names and symbols in every EU language",
            "Unicode CLDR 47 (unicode-org/cldr-json commit b08a82b, 2025-12-01; Unicode licence), "
            "cldr-numbers-full/main/<lang>/currencies.json. Generated by policies/sources/generate.py")
    data = read_json("cldr-47/currencies.json")
    for lang in EU_LANGS:
        for code, names in sorted(data[lang].items()):
            for key, value in sorted(names.items()):
                if key.startswith("displayName") and len(value.split()) <= 3:
                    s.add(lang, value)
                elif key.startswith("symbol") and not re.fullmatch(r"[A-Z]{3}", value) and re.search(r"\w", value):
                    s.add("any", value)
    return [s]


# ---------------------------------------------------------- CN category words

CN_SETS = [
    ("cn_cigarettes", "Cigarettes containing tobacco", ["240220"]),
    ("cn_cigars", "Cigars, cigarillos, water-pipe tobacco, chewing tobacco and snuff", ["24021000", "24031100",
                                                                                        "24039910"]),
    ("cn_firearms", "Revolvers, pistols, military weapons, rocket and grenade launchers, muzzle-loading firearms",
     ["93020000", "93031000", "93011000", "93012000"]),
    ("cn_ammunition", "Cartridges", ["93062100"]),
    ("cn_explosives", "Explosives, detonators, fuses and propellent powders", ["36010000", "36020000", "36031000",
                                                                               "36033000", "36036000"]),
    ("cn_fireworks", "Fireworks", ["36041000"]),
    ("cn_dolls", "Dolls", ["95030021"]),
]


def cn_sets():
    """EU Combined Nomenclature 2026 descriptions in 23 languages (English from the CN
    itself): the description up to its first `,` `;` `(` or `:`, split on the language's
    `and` / `or` (CLDR list patterns), keeping parts of at most three words; a part that
    names a heading number or says `other` is left out."""
    texts = read_json("cn-2026/selected-codes.json")
    patterns = read_json("cldr-47/list-patterns.json")
    out = []
    for name, description, codes in CN_SETS:
        s = Set(name, description + " (CN 2026 category words, every EU language)",
                "EU Combined Nomenclature 2026 (Commission Implementing Regulation (EU) 2025/1926 ⚠ check number), "
                f"codes {', '.join(codes)}, via xterr/php-cncodes Resources/ (commit edf79ad, 2026-02-18; MIT) and "
                "Unicode CLDR 47 list patterns. Generated by policies/sources/generate.py")
        for lang in EU_LANGS:
            joiners = [patterns[lang][k].replace("{0}", "").replace("{1}", "").strip() for k in ["standard", "or"]]
            joiners = [j for j in joiners if j and j != ","]
            for code in codes:
                text = texts[code].get(lang) or ""
                head = re.split(r"[,;(:]", text)[0]
                parts = re.split("|".join(rf"\s{re.escape(j)}\s" for j in joiners), head) if joiners else [head]
                for part in parts:
                    part = part.strip(" .")
                    if part and len(part.split()) <= 3 and not re.search(r"\d", part):
                        s.add(lang, part)
        out.append(s)
    return out


# ------------------------------------------------------------- precursors

PRECURSOR_CN = {"Nitric acid": "28080000", "Hydrogen peroxide": "28470000", "Sulphuric acid": "28070000",
                "Sodium nitrate": "31025000", "Ammonium nitrate": "310230", "Acetone": "29141100"}


def precursors():
    """Regulation (EU) 2019/1148: one set per Annex I substance (its name, other names
    and, where the CN has it, its CN name in every EU language) carrying the limit
    value in its description, and one set for Annex II."""
    annexes = read_tsv("eu-2019-1148/annexes.tsv")
    texts = read_json("cn-2026/selected-codes.json")
    out = []
    annex_two = Set("precursor_annex_ii", "Reportable explosives precursors (Reg. (EU) 2019/1148 Annex II)",
                    "Regulation (EU) 2019/1148 Annex II, transcribed in policies/sources/data/eu-2019-1148 (EU "
                    "legislation, reuse authorised). Generated by policies/sources/generate.py")
    for row in annexes:
        names = [row["substance"].replace(", powders", " powder")] + [
            n.strip() for n in row["other_names"].split(";") if n.strip()]
        if row["annex"] == "II":
            for name in names:
                annex_two.add("any" if re.fullmatch(r"[A-Z][A-Za-z0-9]+", name) else "en", name)
            continue
        slug = re.sub(r"\W+", "_", row["substance"].lower()).strip("_")
        target = Set(f"precursor_{slug}", f"{row['substance']} (Reg. (EU) 2019/1148 Annex I, entry {row['entry']}: "
                     f"restricted above {row['limit_percent_w_w']} % w/w)",
                     "Regulation (EU) 2019/1148 Annex I, transcribed in policies/sources/data/eu-2019-1148; names in "
                     "other languages from the EU Combined Nomenclature 2026 via xterr/php-cncodes (MIT). Generated "
                     "by policies/sources/generate.py")
        for name in names:
            target.add("any" if re.fullmatch(r"[A-Z][A-Za-z0-9]+", name) else "en", name)
        code = PRECURSOR_CN.get(row["substance"])
        for lang in EU_LANGS:
            if code and lang != "en":
                text = texts[code].get(lang) or ""
                head = re.split(r"[,;(:]", text)[0].strip()
                # A synonym the CN gives in parentheses right after the name (`(eau oxygénée)`).
                synonym = re.match(r"[^,;(:]*\(([^()]+)\)", text)
                for name in [head] + ([synonym.group(1).strip()] if synonym else []):
                    if name and len(name.split()) <= 3 and not re.search(r"\d", name):
                        target.add(lang, name)
        out.append(target)
    return out + [annex_two]


# --------------------------------------------------------------------- units

CLDR_UNITS = {
    "length-millimeter": ("length", 0.1), "length-centimeter": ("length", 1.0), "length-meter": ("length", 100.0),
    "length-inch": ("length", 2.54), "length-foot": ("length", 30.48), "mass-milligram": ("mass", 0.001),
    "mass-gram": ("mass", 1.0), "mass-kilogram": ("mass", 1000.0), "volume-milliliter": ("volume", 1.0),
    "volume-centiliter": ("volume", 10.0), "volume-deciliter": ("volume", 100.0), "volume-liter": ("volume", 1000.0),
    "power-milliwatt": ("power", 1.0), "power-watt": ("power", 1000.0), "power-kilowatt": ("power", 1000000.0),
    "electric-volt": ("voltage", 1.0), "energy-joule": ("energy", 1.0), "duration-year": ("age", 1.0),
    "duration-month": ("age", 1.0 / 12.0),
}


def hand_units():
    """Folded spellings of the hand-written [[unit]] tables, with their meaning."""
    import tomllib
    with open(os.path.join(HERE, "..", "common", "quantities.toml"), "rb") as f:
        data = tomllib.load(f)
    meanings = {}
    for unit in data.get("unit", []):
        for key, words in unit.items():
            if isinstance(words, list):
                for w in words:
                    meanings.setdefault(fold(w).replace(" ", ""), set()).add((unit["kind"], unit["factor"]))
    return meanings


def units():
    """CLDR unit names in every EU language (every grammatical form of the long and short
    patterns, `{0}` removed), as [[unit]] tables. A spelling of under three letters (four
    for the short forms), one curated out (exclude.tsv, set `units`), or one that would
    mean another unit in another language or in the hand-written tables
    (common/quantities.toml), is left out."""
    data = read_json("cldr-47/units.json")
    hand = hand_units()
    found = {}  # folded -> {(kind, factor)}, spelling, languages
    for lang in EU_LANGS:
        for width in ["long", "short"]:
            for key, (kind, factor) in CLDR_UNITS.items():
                for name, pattern in sorted(data[lang][width].get(key, {}).items()):
                    if "Pattern" not in name or "per" in name.lower():
                        continue
                    word = pattern.replace("{0}", "").replace("\u00a0", " ").strip(" .")
                    folded = fold(word).replace(" ", "")
                    short_form = width == "short" and len(folded) < 4
                    if len(folded) < 3 or short_form or len(word.split()) > 2 or re.search(r"\d|\{", word):
                        continue
                    if ("units", folded) in curation()[1]:
                        continue
                    entry = found.setdefault(folded, {"meanings": set(), "spelling": word.lower(), "langs": set()})
                    entry["meanings"].add((kind, factor))
                    entry["langs"].add(lang)
    tables = {}
    for folded, entry in sorted(found.items()):
        meanings = entry["meanings"] | hand.get(folded, set())
        if len(meanings) != 1 or folded in hand:
            continue
        (kind, factor), = entry["meanings"]
        lang = sorted(entry["langs"])[0]
        tables.setdefault((kind, factor), {}).setdefault(lang, []).append(entry["spelling"])
    return tables


def render_units(tables):
    head = ("# GENERATED by policies/sources/generate.py from policies/sources/data/cldr-47/units.json: do not edit.\n"
            "# Unit names of Unicode CLDR 47 (unicode-org/cldr-json commit b08a82b, 2025-12-01; Unicode licence) in\n"
            "# every EU language, as [[unit]] tables; spellings the hand-written tables of common/quantities.toml\n"
            "# already give, or that would mean two units, are left out.\n")
    out = [head]
    for (kind, factor), langs in sorted(tables.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        out.append(f"\n[[unit]]\nkind = \"{kind}\"\nfactor = {factor!r}\n"
                   f"source = \"Unicode CLDR 47 units ({kind}). Generated by policies/sources/generate.py\"\n")
        for lang in sorted(langs):
            out.append(f"{lang} = [" + ", ".join(q(w) for w in sorted(set(langs[lang]))) + "]\n")
    return "".join(out)


GENERATED = {
    "precursors.toml": precursors,
    "narcotics.toml": lambda: [stupefiants()] + dod_sets(),
    "medicines.toml": bdpm_sets,
    "ammunition.toml": calibres,
    "documents.toml": documents,
    "currencies.toml": currencies,
    "combined_nomenclature.toml": cn_sets,
}


def render(sets):
    head = ("# GENERATED by policies/sources/generate.py from policies/sources/data/: do not edit.\n"
            "# Each set's `source` names its list, version and licence; policies/sources/README.md says how\n"
            "# the data was cut from upstream and how to refresh it.\n")
    return head + "".join("\n" + s.toml() for s in sets if s.size())


def main():
    check = "--check" in sys.argv[1:]
    changed = []
    os.makedirs(OUT, exist_ok=True)
    outputs = [(file, lambda build=build: render(build())) for file, build in GENERATED.items()]
    outputs.append(("units.toml", lambda: render_units(units())))
    for file, make in outputs:
        text = make()
        path = os.path.join(OUT, file)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            changed.append(file)
            if not check:
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(text)
    if check and changed:
        print("out of date (run python3 policies/sources/generate.py): " + ", ".join(changed), file=sys.stderr)
        sys.exit(1)
    print(("would change: " if check else "written: ") + (", ".join(changed) or "nothing"), file=sys.stderr)


if __name__ == "__main__":
    main()
