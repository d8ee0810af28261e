#!/usr/bin/env python3
"""Independent structural check of the synthetic 837P samples (does not reuse make_samples.py).

    /work/pyx12-venv/bin/python tools/check_samples.py samples/*.837

Reads the delimiters from the fixed ISA bytes, then checks: ISA is 106 bytes; ISA13=IEA02,
GS06=GE02, ST02=SE02; SE01/GE01/IEA01 counts; GS08=ST03=005010X222A1; HL numbering and parents;
LX sequential; CLM02 = sum SV102 (cents); SV107 pointers inside HI; HI qualifiers ABK/ABF, codes
without '.', billable (if simple_icd_10_cm is importable); NPIs (XX) pass Luhn with 80840;
PRV03 taxonomy 10 chars ending in X; REF*6R unique per claim; DTP*472 dates real, in 2025/2026,
not after BHT04. Prints per-file counts (ISA/GS/ST/CLM/SV1) and the line-break style.
"""
import datetime
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npi import is_valid_npi  # noqa: E402

try:
    import simple_icd_10_cm as icd
except ImportError:  # pragma: no cover
    icd = None


def dotted(code):
    return code if len(code) <= 3 else code[:3] + "." + code[3:]


def parse(data: bytes):
    if not data.startswith(b"ISA"):
        raise ValueError("does not start with ISA")
    elem, rep, comp, seg = (chr(data[3]), chr(data[82]), chr(data[104]), chr(data[105]))
    delims = {"element": elem, "repetition": rep, "component": comp, "segment": seg}
    assert len(set(delims.values())) == 4, delims
    text = data.decode("ascii")
    raw = text.split(seg)
    tail = raw.pop()
    assert tail.strip("\r\n") == "", f"trailing data after last terminator: {tail!r}"
    breaks = set()
    segs = []
    for i, r in enumerate(raw):
        stripped = r.lstrip("\r\n")
        if i > 0:
            breaks.add(r[: len(r) - len(stripped)])
        segs.append(stripped.split(elem))
    breaks.add(tail)
    # each ISA must be exactly 106 bytes incl. terminator
    for s in segs:
        if s[0] == "ISA":
            isa_len = len(elem.join(s)) + 1
            assert isa_len == 106, f"ISA length {isa_len}"
    return segs, delims, breaks


def check_file(path):
    data = open(path, "rb").read()
    segs, d, breaks = parse(data)
    comp = d["component"]
    errs = []
    counts = dict(ISA=0, GS=0, ST=0, CLM=0, SV1=0, HL=0)
    isa = gs = st = None
    gs_count = st_count = 0
    st_start = 0
    bht_date = None
    hl_ids = {}
    claim = None
    claims = []

    def close_claim():
        if claim is None:
            return
        total = sum((Decimal(x) for x in claim["sv102"]), Decimal(0))
        if Decimal(claim["clm02"]) != total:
            errs.append(f"{claim['pcn']}: CLM02 {claim['clm02']} != sum SV102 {total}")
        if len(set(claim["6r"])) != len(claim["6r"]):
            errs.append(f"{claim['pcn']}: duplicate REF*6R")
        if len(claim["6r"]) != len(claim["sv102"]):
            errs.append(f"{claim['pcn']}: REF*6R count != SV1 count")
        claims.append(claim)

    for i, s in enumerate(segs):
        tag = s[0]
        counts[tag] = counts.get(tag, 0) + 1
        if tag == "ISA":
            isa = s
            gs_count = 0
            assert len(s) == 17, "ISA element count"
        elif tag == "IEA":
            if s[2] != isa[13]:
                errs.append(f"IEA02 {s[2]} != ISA13 {isa[13]}")
            if int(s[1]) != gs_count:
                errs.append(f"IEA01 {s[1]} != {gs_count} groups")
        elif tag == "GS":
            gs = s
            gs_count += 1
            st_count = 0
            if s[8] != "005010X222A1":
                errs.append(f"GS08 {s[8]}")
        elif tag == "GE":
            if s[2] != gs[6]:
                errs.append(f"GE02 {s[2]} != GS06 {gs[6]}")
            if int(s[1]) != st_count:
                errs.append(f"GE01 {s[1]} != {st_count} sets")
        elif tag == "ST":
            st = s
            st_count += 1
            st_start = i
            hl_ids = {}
            if s[3] != gs[8]:
                errs.append(f"ST03 {s[3]} != GS08")
        elif tag == "SE":
            close_claim()
            claim = None
            n = i - st_start + 1
            if int(s[1]) != n:
                errs.append(f"SE01 {s[1]} != {n} segments (ST {st[2]})")
            if s[2] != st[2]:
                errs.append(f"SE02 {s[2]} != ST02 {st[2]}")
        elif tag == "BHT":
            bht_date = s[4]
        elif tag == "HL":
            close_claim()
            claim = None
            hid, parent, level = s[1], s[2], s[3]
            if int(hid) != len(hl_ids) + 1:
                errs.append(f"HL01 {hid} out of sequence")
            want_parent = {"20": None, "22": "20", "23": "22"}[level]
            if want_parent is None:
                if parent:
                    errs.append(f"HL {hid}: 2000A has a parent")
            elif hl_ids.get(parent) != want_parent:
                errs.append(f"HL {hid}: parent {parent} is not level {want_parent}")
            hl_ids[hid] = level
        elif tag == "CLM":
            close_claim()
            hi = []
            claim = dict(pcn=s[1], clm02=s[2], sv102=[], hi=hi, lx=0, **{"6r": []})
        elif tag == "HI":
            for j, c in enumerate(s[1:]):
                q, code = c.split(comp)[:2]
                if q != ("ABK" if j == 0 else "ABF"):
                    errs.append(f"{claim['pcn']}: HI qualifier {q}")
                if "." in code:
                    errs.append(f"{claim['pcn']}: dotted code {code}")
                if icd is not None and not (icd.is_valid_item(dotted(code))
                                            and icd.is_leaf(dotted(code))):
                    errs.append(f"{claim['pcn']}: {code} not billable")
                claim["hi"].append(code)
        elif tag == "LX":
            claim["lx"] += 1
            if int(s[1]) != claim["lx"]:
                errs.append(f"{claim['pcn']}: LX {s[1]} out of sequence")
        elif tag == "SV1":
            claim["sv102"].append(s[2])
            if Decimal(s[4]) <= 0:
                errs.append(f"{claim['pcn']}: units {s[4]}")
            for p in s[7].split(comp):
                if not 1 <= int(p) <= len(claim["hi"]):
                    errs.append(f"{claim['pcn']}: pointer {p}")
        elif tag == "DTP" and s[1] == "472":
            dt = datetime.datetime.strptime(s[3], "%Y%m%d").date()
            if dt.year not in (2025, 2026) or s[3] > bht_date:
                errs.append(f"{claim['pcn']}: service date {s[3]}")
        elif tag == "REF" and s[1] == "6R":
            claim["6r"].append(s[2])
        elif tag == "NM1" and len(s) > 9 and s[8] == "XX":
            if not is_valid_npi(s[9]):
                errs.append(f"bad NPI {s[9]}")
        elif tag == "PRV":
            if len(s[3]) != 10 or not s[3].endswith("X"):
                errs.append(f"taxonomy {s[3]}")
    style = {frozenset({"\n"}): "LF", frozenset({"\r\n"}): "CRLF", frozenset({""}): "none"}.get(
        frozenset(breaks), repr(breaks))
    return counts, d, style, claims, errs


def main(paths):
    bad = 0
    print(f"{'file':28} ISA GS ST CLM SV1 delims(el,rep,comp,seg) breaks  result")
    for p in paths:
        counts, d, style, claims, errs = check_file(p)
        dl = " ".join(d[k] for k in ("element", "repetition", "component", "segment"))
        print(f"{os.path.basename(p):28} {counts['ISA']:3} {counts['GS']:2} {counts['ST']:2} "
              f"{counts['CLM']:3} {counts['SV1']:3} {dl:23} {style:6}  "
              f"{'OK' if not errs else 'ERRORS'}")
        for e in errs:
            print("   ", e)
        bad += bool(errs)
    if icd is None:
        print("(simple_icd_10_cm not importable: ICD-10-CM billable check skipped)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
