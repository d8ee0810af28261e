#!/usr/bin/env python3
"""Build the bundled ICD-10-CM edition table (data/icd10cm/) from the verified public files.

Input (a copy of shared/refdata-sources/icd10cm/, see data/icd10cm/README.md for sources):
    icd10cm_validity_FY2016-FY2026.tsv     one row per code ever released; Y/H/- per release
    releases_FY2016-FY2026.json            effective date, source file and sha256 per release
    fy2027_partial/icd10cm_FY2027_subset_127_categories.tsv   FY2027 status of 127 categories
    fy2027_partial/icd10cm_FY2027_known_changes.tsv           FY2027 deletions and demotions

Output (data/icd10cm/):
    codes.tsv        CODE <TAB> billable-mask [<TAB> header-mask]; masks in hex, bit i =
                     release i of editions.tsv; the header mask is left out when 0. Codes
                     without a dot, sorted bytewise, LF.
    editions.tsv     one row per release: bit, id, fiscal year, effective date, completeness,
                     billable and header counts, source, sha256 of the file it was read from.
    fy2027-known-categories.txt   the categories whose FY2027 status is fully known.

FY2027 (bit 16) is derived: in the 127 fully known categories, the FY2027 subset as is;
everywhere else FY2026 less the known deletions, with the known demotions made headers.
Additions outside the 127 categories are unknown (the scrubber warns rather than rejects).

Usage: python3 tools/build_icd10cm_table.py SOURCE_DIR [--out data/icd10cm]
Not run in CI; the output is committed.
"""
import argparse
import hashlib
import json
import os
import re
import sys

RELEASES = ["FY2016", "FY2017", "FY2018", "FY2019", "FY2020", "FY2021", "2021-01", "FY2022",
            "2022-04", "FY2023", "2023-04", "FY2024", "2024-04", "FY2025", "2025-04", "FY2026"]
FY2027 = "FY2027"
CODE_RE = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")

# Published counts (CDC addenda "N codes in icd10cm_order_YYYY.txt"; the FY2027 harness).
EXPECTED_BILLABLE = {"FY2016": 69823, "FY2017": 71486, "FY2018": 71704, "FY2019": 71932,
                     "FY2020": 72184, "FY2021": 72616, "2021-01": 72621, "FY2022": 72748,
                     "2022-04": 72750, "FY2023": 73639, "2023-04": 73674, "FY2024": 74044,
                     "2024-04": 74044, "FY2025": 74260, "2025-04": 74260, "FY2026": 74719}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fiscal_year(release, effective):
    if release.startswith("FY"):
        return int(release[2:])
    year, month = int(effective[:4]), int(effective[5:7])
    return year + 1 if month >= 10 else year


def read_validity(path):
    status = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "code":
                assert cols[1:17] == RELEASES, cols[1:17]
                continue
            code = cols[0]
            assert CODE_RE.match(code), code
            status[code] = cols[1:17]
    return status


def read_fy2027(src):
    subset_path = os.path.join(src, "fy2027_partial", "icd10cm_FY2027_subset_127_categories.tsv")
    categories, subset = [], {}
    with open(subset_path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if line.startswith("# ") and n == 1:
                categories = line[2:].split()
            if line.startswith("#") or line.startswith("code\t"):
                continue
            code, st = line.split("\t")[:2]
            assert st in ("Y", "H"), line
            subset[code] = st
    assert len(categories) == 127, len(categories)
    changes_path = os.path.join(src, "fy2027_partial", "icd10cm_FY2027_known_changes.tsv")
    deleted, demoted = set(), set()
    with open(changes_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line.startswith("change\t"):
                continue
            kind, code = line.split("\t")[:2]
            code = code.replace(".", "")
            if kind == "deleted":
                deleted.add(code)
            elif kind == "billable_to_header":
                demoted.add(code)
    assert (len(deleted), len(demoted)) == (21, 15), (len(deleted), len(demoted))
    return categories, subset, deleted, demoted, subset_path, changes_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source", help="directory holding the icd10cm/ files of refdata-sources")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "icd10cm"))
    a = ap.parse_args()
    validity_path = os.path.join(a.source, "icd10cm_validity_FY2016-FY2026.tsv")
    releases = json.load(open(os.path.join(a.source, "releases_FY2016-FY2026.json")))
    status = read_validity(validity_path)
    categories, subset, deleted, demoted, subset_path, changes_path = read_fy2027(a.source)
    known = set(categories)
    fy2026 = RELEASES.index("FY2026")

    for code in subset:
        status.setdefault(code, ["-"] * len(RELEASES))
    for code in deleted | demoted:
        assert code in status and status[code][fy2026] != "-", f"{code} not in FY2026"
    for code in demoted:
        assert status[code][fy2026] == "Y", f"demoted {code} not billable in FY2026"

    rows = []
    counts = {r: [0, 0] for r in RELEASES + [FY2027]}
    for code in sorted(status, key=lambda c: c.encode("ascii")):
        st = list(status[code])
        if code[:3] in known:
            st.append(subset.get(code, "-"))
        elif code in deleted:
            st.append("-")
        elif code in demoted:
            st.append("H")
        else:
            st.append(st[fy2026])
        billable = sum(1 << i for i, s in enumerate(st) if s == "Y")
        header = sum(1 << i for i, s in enumerate(st) if s == "H")
        if billable == 0 and header == 0:
            continue
        for r, s in zip(RELEASES + [FY2027], st):
            if s == "Y":
                counts[r][0] += 1
            elif s == "H":
                counts[r][1] += 1
        row = f"{code}\t{billable:x}"
        if header:
            row += f"\t{header:x}"
        rows.append(row)

    for r, n in EXPECTED_BILLABLE.items():
        if counts[r][0] != n:
            sys.exit(f"{r}: {counts[r][0]} billable, expected {n}")
        if r in releases and counts[r][1] != releases[r]["headers"]:
            sys.exit(f"{r}: {counts[r][1]} headers, expected {releases[r]['headers']}")
    # Spot checks of the acceptance cases.
    by_code = {row.split("\t")[0]: row for row in rows}
    assert "M51360" in by_code and "M5136" in by_code

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "codes.tsv"), "w", newline="\n", encoding="ascii") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(a.out, "editions.tsv"), "w", newline="\n", encoding="ascii") as f:
        f.write("bit\tid\tfiscal_year\teffective\tcompleteness\tbillable\theaders\tsource\tsha256\n")
        for i, r in enumerate(RELEASES):
            meta = releases[r]
            eff = meta["effective"]
            if meta["source_kind"] == "derived":
                source, digest = "derived from the January 2021 order file (see README)", "-"
            else:
                source = f"{meta['source_kind'].upper()} {os.path.basename(meta['member'])}"
                digest = meta["member_sha256"]
            f.write(f"{i}\t{r}\t{fiscal_year(r, eff)}\t{eff}\tcomplete\t{counts[r][0]}\t"
                    f"{counts[r][1]}\t{source}\t{digest}\n")
        f.write(f"{len(RELEASES)}\t{FY2027}\t2027\t2026-10-01\tpartial\t{counts[FY2027][0]}\t"
                f"{counts[FY2027][1]}\tFY2026 less known deletions and demotions; 127 categories "
                f"from the CDC FY2027 order file (see README)\t{sha256(subset_path)}\n")
    with open(os.path.join(a.out, "fy2027-known-categories.txt"), "w", newline="\n",
              encoding="ascii") as f:
        f.write(" ".join(categories) + "\n")
    size = os.path.getsize(os.path.join(a.out, "codes.tsv"))
    print(f"codes.tsv: {len(rows)} codes, {size} bytes; sha256 {sha256(os.path.join(a.out, 'codes.tsv'))}")
    print(f"sources: validity {sha256(validity_path)}, FY2027 subset {sha256(subset_path)}, "
          f"changes {sha256(changes_path)}")
    for r in RELEASES + [FY2027]:
        print(f"  {r}: {counts[r][0]} billable, {counts[r][1]} headers")


if __name__ == "__main__":
    main()
