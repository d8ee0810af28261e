#!/usr/bin/env python3
"""Build data/nucc/taxonomy.tsv from the NUCC Health Care Provider Taxonomy CSV.

Input: nucc_taxonomy_<version>.csv as published at https://www.nucc.org (columns Code,
Grouping, Classification, Specialization, Definition, Notes, Display Name, Section).
Output: one line per code, `CODE<TAB>Display Name`, sorted, LF, after a first line
`#version<TAB>25.1<TAB>effective<TAB>2025-07-01<TAB>sha256<TAB>...` naming the source file.
Definitions and notes are left out (the rule needs the code and a name for messages).

Usage: python3 tools/build_nucc_taxonomy.py nucc_taxonomy_251.csv 25.1 2025-07-01 [--out data/nucc]
Not run in CI; the output is committed.
"""
import argparse
import csv
import hashlib
import os
import re

CODE_RE = re.compile(r"^[0-9A-Z]{9}X$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("version")
    ap.add_argument("effective")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "nucc"))
    a = ap.parse_args()
    digest = hashlib.sha256(open(a.csv, "rb").read()).hexdigest()
    rows = {}
    with open(a.csv, encoding="utf-8-sig", newline="") as f:
        for rec in csv.DictReader(f):
            code = rec["Code"].strip()
            assert CODE_RE.match(code), code
            assert code not in rows, code
            name = (rec.get("Display Name") or rec["Classification"]).strip()
            name = " ".join(name.replace("\t", " ").split())
            rows[code] = name
    for code, name in [("225100000X", "Physical Therapist"), ("111N00000X", "Chiropractor")]:
        assert rows[code] == name, (code, rows[code])
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "taxonomy.tsv")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(f"#version\t{a.version}\teffective\t{a.effective}\tsha256\t{digest}\n")
        for code in sorted(rows):
            f.write(f"{code}\t{rows[code]}\n")
    print(f"{path}: {len(rows)} codes from {a.csv} (sha256 {digest})")


if __name__ == "__main__":
    main()
