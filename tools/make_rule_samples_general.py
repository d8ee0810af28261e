#!/usr/bin/env python3
"""Generate the samples of the general rule family in samples/rules/general/.

For every rule of the "General claim edits" section of the rule catalog there are two files:
`<rule>.fires.837` makes the rule fire, `<rule>.clean.837` is a close variant that must not.
Everything is synthetic (TESTPATIENT/SYNTHETIC names, SYNMEM member ids, NPIs built with
tools/npi.py). Run from the repo root:

    python3 tools/make_rule_samples_general.py

The template is samples/clean-single-claim.837: one PT clinic, one subscriber who is the
patient, 97110 GP x2 + 97530 GP on 2026-01-08, file date 2026-01-16.
"""
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npi import is_valid_npi, make_npi  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "samples", "rules", "general")

BILLING_NPI = "1234567893"
RENDER_NPI = "1987654328"
REFER_NPI = "1876543210"
assert all(is_valid_npi(n) for n in (BILLING_NPI, RENDER_NPI, REFER_NPI))
# A bad NPI: the rendering provider's with its last digit changed.
BAD_NPI = RENDER_NPI[:9] + str((int(RENDER_NPI[9]) + 1) % 10)
assert not is_valid_npi(BAD_NPI)
assert make_npi(RENDER_NPI[:9]) == RENDER_NPI


def amt(d: Decimal) -> str:
    """X12 R type: no trailing zeros, no trailing point."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def default_lines(pcn):
    return [
        dict(sv1=["HC:97110:GP", "90", "UN", "2", "", "", "1"], dtp=("D8", "20260108"),
             ref6r=f"{pcn}-1", extra=[]),
        dict(sv1=["HC:97530:GP", "52.5", "UN", "1", "", "", "1"], dtp=("D8", "20260108"),
             ref6r=f"{pcn}-2", extra=[]),
    ]


def default_claim(pcn):
    return dict(
        pcn=pcn,
        total=None,          # None: the sum of the line charges
        clm05="11:B:1",
        refs=[],             # 2300 REF segments, e.g. [["REF", "F8", "..."]]
        hi=["ABK:M5416", "ABF:M62830"],
        refer=["NM1", "DN", "1", "TESTREFERRER", "DANA", "", "", "", "XX", REFER_NPI],
        render=["NM1", "82", "1", "TESTTHERAPIST", "PAT", "", "", "", "XX", RENDER_NPI],
        render_prv=["PRV", "PE", "PXC", "225100000X"],
        lines=default_lines(pcn),
    )


def default_subscriber(member="SYNMEM0001", first="JANE", dob="19800101"):
    return dict(
        nm1=["NM1", "IL", "1", "TESTPATIENT", first, "", "", "", "MI", member],
        n3=["N3", "10 SYNTHETIC STREET"],
        n4=["N4", "TESTVILLE", "OH", "43215"],
        dmg=["DMG", "D8", dob, "F"],
        claims=[],
    )


def default_file():
    return dict(
        bht_date="20260116",
        bht06="CH",
        billing=dict(
            prv=["PRV", "BI", "PXC", "225100000X"],
            nm1=["NM1", "85", "2", "SYNTHETIC PHYSICAL THERAPY CLINIC", "", "", "", "", "XX",
                 BILLING_NPI],
            n3=["N3", "100 TEST PLAZA"],
            n4=["N4", "TESTVILLE", "OH", "432150001"],
            ref=["REF", "EI", "990000001"],
            per=None,
        ),
        subscribers=[],
    )


def claim_segments(c):
    charges = sum(Decimal(line["sv1"][1]) for line in c["lines"])
    total = c["total"] if c["total"] is not None else amt(charges)
    segs = [["CLM", c["pcn"], total, "", "", c["clm05"], "Y", "A", "Y", "Y"]]
    segs += c["refs"]
    segs.append(["HI"] + c["hi"])
    if c["refer"]:
        segs.append(c["refer"])
    if c["render"]:
        segs.append(c["render"])
        if c["render_prv"]:
            segs.append(c["render_prv"])
    for n, line in enumerate(c["lines"], 1):
        segs.append(["LX", str(n)])
        segs.append(["SV1"] + line["sv1"])
        segs.append(["DTP", "472", line["dtp"][0], line["dtp"][1]])
        segs.append(["REF", "6R", line["ref6r"]])
        segs += line["extra"]
    return segs


def body(f):
    segs = [
        ["BHT", "0019", "00", "SYNBATCHGENERAL01", f["bht_date"], "1030", f["bht06"]],
        ["NM1", "41", "2", "SYNTHETIC BILLING SERVICE", "", "", "", "", "46", "SYNSUB01"],
        ["PER", "IC", "TESTCONTACT SAM", "TE", "5555550100"],
        ["NM1", "40", "2", "SYNTHETIC CLEARINGHOUSE", "", "", "", "", "46", "SYNRCV01"],
        ["HL", "1", "", "20", "1"],
    ]
    b = f["billing"]
    segs += [b["prv"], b["nm1"], b["n3"], b["n4"], b["ref"]]
    if b["per"]:
        segs.append(b["per"])
    for i, s in enumerate(f["subscribers"], 2):
        segs += [
            ["HL", str(i), "1", "22", "0"],
            ["SBR", "P", "18", "SYNGRP001", "", "", "", "", "", "CI"],
            s["nm1"], s["n3"], s["n4"], s["dmg"],
            ["NM1", "PR", "2", "SYNTHETIC HEALTH PLAN", "", "", "", "", "PI", "SYNPAYER01"],
        ]
        for c in s["claims"]:
            segs += claim_segments(c)
    return segs


def render(f):
    d = f["bht_date"]
    isa = ("ISA*00*          *00*          *ZZ*SYNSUB01       *ZZ*SYNRCV01       *"
           f"{d[2:]}*1030*^*00501*000000201*0*T*:")
    assert len(isa) + 1 == 106, len(isa)
    segs = [["ST", "837", "0001", "005010X222A1"]] + body(f)
    segs.append(["SE", str(len(segs) + 1), "0001"])
    lines = [isa, f"GS*HC*SYNSUB01*SYNRCV01*{d}*1030*1*X*005010X222A1"]
    lines += ["*".join(s) for s in segs]
    lines += ["GE*1*1", "IEA*1*000000201"]
    return "".join(line + "~\n" for line in lines)


def one_claim(pcn, edit_claim=None, edit_file=None, dob="19800101"):
    """A file with one subscriber and one claim, edited by the given functions."""
    f = default_file()
    s = default_subscriber(dob=dob)
    c = default_claim(pcn)
    if edit_claim:
        edit_claim(c)
    s["claims"].append(c)
    f["subscribers"].append(s)
    if edit_file:
        edit_file(f)
    return f


# ------------------------------------------------------------------ the samples
SAMPLES = {}


def sample(name):
    def wrap(fn):
        SAMPLES[name] = fn
        return fn
    return wrap


@sample("amount-precision")
def amount_precision(fires):
    # Fires: CLM02, line 1 SV102 and 2300 AMT*F5 have a third decimal place. Clean: the same
    # amounts spelled with trailing zeros and a leading zero (all exact).
    def edit(c):
        c["total"] = "142.505" if fires else "0142.50"
        c["lines"][0]["sv1"][1] = "90.005" if fires else "90.0000"
        c["refs"] = [["AMT", "F5", "10.001" if fires else "10.000"]]
    return one_claim("PCN-AMT-1", edit)


@sample("clm-balance")
def clm_balance(fires):
    def edit(c):
        c["total"] = "150" if fires else "142.50"
    return one_claim("PCN-BAL-1", edit)


@sample("clm-zero-charge")
def clm_zero_charge(fires):
    def edit(c):
        for line in c["lines"]:
            line["sv1"][1] = "0"

    def edit_file(f):
        f["bht06"] = "CH" if fires else "RP"
    return one_claim("PCN-ZERO-1", edit, edit_file)


@sample("clm-frequency")
def clm_frequency(fires):
    # Claim 1: a replacement (7); claim 2: a void (8); claim 3: frequency 3 (fires only).
    f = default_file()
    s = default_subscriber()
    c1 = default_claim("PCN-FREQ-1")
    c1["clm05"] = "11:B:7"
    c2 = default_claim("PCN-FREQ-2")
    c2["clm05"] = "11:B:8"
    c3 = default_claim("PCN-FREQ-3")
    if fires:
        c2["refs"] = [["REF", "F8", "SYNICN0000002"]]
        c3["clm05"] = "11:B:3"
    else:
        c1["refs"] = [["REF", "F8", "SYNICN0000001"]]
        c2["refs"] = [["REF", "F8", "SYNICN0000002"]]
    s["claims"] += [c1, c2, c3]
    f["subscribers"].append(s)
    return f


@sample("dx-code")
def dx_code(fires):
    # Claim 1 is dated in FY2025; claim 2 after the newest edition loaded (FY2026 ends
    # 2026-09-30), so the FY2026 edition is used and the note says so.
    f = default_file()
    f["bht_date"] = "20261016"
    s = default_subscriber()
    c1 = default_claim("PCN-DX-1")
    c2 = default_claim("PCN-DX-2")
    for line in c1["lines"]:
        line["dtp"] = ("D8", "20250108")
    for line in c2["lines"]:
        line["dtp"] = ("D8", "20261005")
    if fires:
        c1["hi"] = ["ABK:M545", "ABF:M62830"]
        c2["hi"] = ["ABK:M5416", "ABF:M541"]
    else:
        c1["hi"] = ["ABK:M5450", "ABF:M62830"]
        c2["hi"] = ["ABK:M5416", "ABF:M5417"]
    s["claims"] += [c1, c2]
    f["subscribers"].append(s)
    return f


@sample("dx-pointer")
def dx_pointer(fires):
    def edit(c):
        if fires:
            c["lines"][0]["sv1"][6] = "1:3"   # HI has 2 codes
            c["lines"][1]["sv1"][6] = "2:2"   # repeated
        else:
            c["lines"][0]["sv1"][6] = "1:2"
            c["lines"][1]["sv1"][6] = "2:1"
    return one_claim("PCN-PTR-1", edit)


@sample("dx-duplicate")
def dx_duplicate(fires):
    def edit(c):
        c["hi"] = ["ABK:M5416", "ABF:M62830", "ABF:M5416" if fires else "ABF:M5417"]
    return one_claim("PCN-DUP-1", edit)


@sample("dx-primary")
def dx_primary(fires):
    f = default_file()
    s = default_subscriber()
    c1 = default_claim("PCN-PRI-1")
    c2 = default_claim("PCN-PRI-2")
    if fires:
        c1["hi"] = ["ABK:W1830XA", "ABF:S134XXA"]   # external cause first
        c2["hi"] = ["ABK:S134XXS", "ABF:M5416"]     # sequela first
    else:
        c1["hi"] = ["ABK:S134XXA", "ABF:W1830XA"]
        c2["hi"] = ["ABK:M5416", "ABF:S134XXS"]
    s["claims"] += [c1, c2]
    f["subscribers"].append(s)
    return f


@sample("npi-check")
def npi_check(fires):
    def edit(c):
        if fires:
            c["render"][9] = BAD_NPI
            c["refer"][9] = "18765432"          # 8 digits
            c["lines"][1]["extra"] = [
                ["NM1", "DQ", "1", "TESTSUPERVISOR", "SAM", "", "", "", "XX", "1234567890"]]
        else:
            c["lines"][1]["extra"] = [
                ["NM1", "DQ", "1", "TESTSUPERVISOR", "SAM", "", "", "", "XX",
                 make_npi("123456790")]]
    return one_claim("PCN-NPI-1", edit)


@sample("taxonomy-format")
def taxonomy_format(fires):
    def edit(c):
        c["render_prv"][3] = "225100000" if fires else "225100000X"
    return one_claim("PCN-TAX-1", edit)


@sample("date-valid")
def date_valid(fires):
    # Claim 1: not a real date; claim 2: range out of order; claim 3: after BHT04 (2026-01-16);
    # claim 4 (second subscriber, born 2026-01-10): service before birth.
    f = default_file()
    s1 = default_subscriber()
    s2 = default_subscriber(member="SYNMEM0002", first="NEWBORN", dob="20260110")
    claims = [default_claim(f"PCN-DATE-{n}") for n in range(1, 5)]
    if fires:
        claims[0]["lines"][0]["dtp"] = ("D8", "20260230")
        claims[1]["lines"][1]["dtp"] = ("RD8", "20260110-20260108")
        claims[2]["lines"][0]["dtp"] = ("D8", "20260120")
    else:
        claims[0]["lines"][0]["dtp"] = ("D8", "20260113")
        claims[1]["lines"][1]["dtp"] = ("RD8", "20260108-20260110")
        claims[2]["lines"][0]["dtp"] = ("D8", "20260116")
    for line in claims[3]["lines"]:
        line["dtp"] = ("D8", "20260108" if fires else "20260112")
    s1["claims"] += claims[:3]
    s2["claims"].append(claims[3])
    f["subscribers"] += [s1, s2]
    return f


@sample("units-positive")
def units_positive(fires):
    def edit(c):
        c["lines"][1]["sv1"][3] = "0" if fires else "1"
    return one_claim("PCN-UNITS-1", edit)


@sample("proc-format")
def proc_format(fires):
    def edit(c):
        c["lines"][1]["sv1"][0] = "HC:9753:GP" if fires else "HC:97530:GP"
    return one_claim("PCN-PROC-1", edit)


@sample("pos-valid")
def pos_valid(fires):
    def edit(c):
        c["clm05"] = "29:B:1" if fires else "11:B:1"
        c["lines"][1]["sv1"][4] = "36" if fires else "12"
    return one_claim("PCN-POS-1", edit)


@sample("line-control-dup")
def line_control_dup(fires):
    def edit(c):
        c["lines"][1]["ref6r"] = "PCN-LCN-1-1" if fires else "PCN-LCN-1-2"
    return one_claim("PCN-LCN-1", edit)


@sample("format-repairs")
def format_repairs(fires):
    def edit(c):
        if fires:
            c["lines"][0]["sv1"][0] = "HC:97 110:GP"
            c["lines"][1]["sv1"][0] = "HC:97530 :GP"

    def edit_file(f):
        b = f["billing"]
        b["per"] = ["PER", "IC", "TESTCONTACT BILL", "TE",
                    "(555) 555-0199" if fires else "5555550199"]
        b["n4"][3] = "43215" if fires else "432150000"
        b["n3"][1] = "100 TEST PLAZA  " if fires else "100 TEST PLAZA"
        f["subscribers"][0]["n4"][3] = "43215-0001" if fires else "432150001"
    return one_claim("PCN-FMT-1", edit, edit_file)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in SAMPLES.items():
        for variant in ("fires", "clean"):
            text = render(make(variant == "fires"))
            with open(os.path.join(OUT, f"{name}.{variant}.837"), "w", newline="\n") as out:
                out.write(text)
    print(f"wrote {2 * len(SAMPLES)} files to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
