#!/usr/bin/env python3
"""Generate the per-rule samples of the 97012 (traction) rule family in samples/rules/traction/.

For every rule of src/rules/traction/ there is RULE.fires.837 (the rule fires) and
RULE.clean.837 (a close variant where it must not), plus a few extra variants used by
tests/rules_traction.rs for profile differences. Everything is synthetic (TESTPATIENT names,
SYNMBI/SYNMEM member ids, NPIs from tools/npi.py), built with the segment writer of
tools/make_samples.py. Run from the repo root:

    python3 tools/make_traction_samples.py

The files are checked with pyx12 (x12valid) and tools/check_samples.py; see
samples/rules/traction/README.md.
"""
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_samples as ms  # noqa: E402
from make_samples import (  # noqa: E402
    BillingTree, Claim, Delims, Line, Person, Subscriber, amt, interchange,
)

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "samples", "rules", "traction")

# A Texas twin of the PT clinic, for the uhc-community-plan Texas exemption.
ms.BILLING["pt_tx"] = dict(name="SYNTHETIC PHYSICAL THERAPY CLINIC TX",
                           npi=ms.NPI["billing_pt"], tax=ms.TAX["pt"], addr="400 FAKE BOULEVARD",
                           city="MOCKVILLE", state="TX", zip="750010004", ein="990000004")

FEE = dict(ms.FEE)
FEE.update({"97032": "30", "G0283": "22", "97164": "90"})

# Synthetic patients of this family (Medicare unless said otherwise).
MCR = Person("TESTPATIENT", "KARL", "SYNMBI00031", "19500303", "M", "61 FAKE STREET")
MCR2 = Person("TESTPATIENT", "LENA", "SYNMBI00032", "19490404", "F", "62 FAKE STREET")
COMM = Person("TESTPATIENT", "MINA", "SYNMEM0033", "19800505", "F", "63 FAKE STREET")

DOS = "20260112"
DX = ("M5416",)


def L(code, units="1", mods=("GP",), ptr=(1,), date=DOS, **kw):
    charge = Decimal(FEE[code]) * Decimal(units)
    return Line(code, amt(charge), units, tuple(mods), tuple(ptr), date, **kw)


def visit(pcn, *lines, dx=DX, render="pt", refer="md", **kw):
    return Claim(pcn, list(lines), dx=dx, render=render, refer=refer, **kw)


def base(pcn, date=DOS, mods=("GP",)):
    """A clean traction visit: 97012 and therapeutic exercise."""
    return visit(pcn, L("97012", mods=mods, date=date), L("97110", "2", date=date))


def medicare(claims, billing="pt", person=MCR):
    return [BillingTree(billing, [Subscriber(person, "MB", claims)])]


def commercial(claims, billing="pt", person=COMM):
    return [BillingTree(billing, [Subscriber(person, "CI", claims, group="SYNGRP033")])]


CONTROL = [300]


def write(name, trees):
    CONTROL[0] += 1
    d = Delims()
    text = interchange(CONTROL[0], [(1, [("0001", trees)])], d)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(text.encode("ascii"))
    print(f"wrote {path}")


def pair(rule, fires, clean):
    write(f"{rule}.fires.837", fires)
    write(f"{rule}.clean.837", clean)


def kx_claims(kx_from_visit):
    """A 2025 Medicare patient whose PT total passes the $2,410 KX threshold during visit 16;
    lines of visits numbered kx_from_visit or later carry KX."""
    dates = [f"2025{m:02d}{d:02d}" for m, d in
             [(9, 1), (9, 8), (9, 15), (9, 22), (9, 29), (10, 6), (10, 13), (10, 20),
              (10, 27), (11, 3), (11, 10), (11, 17), (11, 24), (12, 1), (12, 8), (12, 15)]]
    claims = []
    for start in range(0, 16, 4):
        lines = []
        for n, date in enumerate(dates[start:start + 4], start + 1):
            mods = ("GP", "KX") if n >= kx_from_visit else ("GP",)
            lines += [L(c, mods=mods, date=date) for c in ("97110", "97112", "97530", "97750")]
            lines.append(L("97140", mods=mods, date=date))
        claims.append(visit(f"PCN-KX-{start // 4 + 1}", *lines))
    mods = ("GP", "KX") if kx_from_visit <= 17 else ("GP",)
    claims.append(visit("PCN-KX-FINAL", L("97012", mods=mods, date="20251222"),
                        L("97110", mods=mods, date="20251222")))
    return medicare(claims)


def visits_claims(n):
    days = list(range(2, 2 + n))
    return medicare([base(f"PCN-VISIT-{i:02d}", date=f"202601{d:02d}")
                     for i, d in enumerate(days, 1)])


def main():
    os.makedirs(OUT, exist_ok=True)
    pair("T97012-UNITS",
         medicare([visit("PCN-UNITS", L("97012", "3"), L("97110", "2"))]),
         medicare([base("PCN-UNITS-OK")]))
    pair("T97012-DUP-LINE",
         medicare([visit("PCN-DUPLINE", L("97012"), L("97012"), L("97110", "2"))]),
         medicare([visit("PCN-DUPLINE-OK", L("97012", date="20260112"), L("97110", date="20260112"),
                         L("97012", date="20260114"), L("97110", date="20260114"))]))
    pair("T97012-DUP-CLAIM",
         medicare([base("PCN-DUPCLM-A"), visit("PCN-DUPCLM-B", L("97012"), L("97112"))]),
         medicare([base("PCN-DUPCLM-A"), visit("PCN-DUPCLM-C", L("97012", date="20260114"),
                                                L("97112", date="20260114"))]))
    pair("T97012-THERAPY-MOD",
         medicare([base("PCN-NOMOD", mods=())]),
         medicare([base("PCN-NOMOD-OK")]))
    write("T97012-THERAPY-MOD.ot.837",
          commercial([visit("PCN-NOMOD-OT", L("97012", mods=()), L("97530", mods=("GO",)),
                            render="ot")]))
    write("T97012-THERAPY-MOD.full.837",
          medicare([base("PCN-NOMOD-FULL", mods=("KX", "XU", "GA", "76"))]))
    write("T97012-THERAPY-MOD.tx.837",
          commercial([base("PCN-NOMOD-TX", mods=())], billing="pt_tx"))
    pair("T97012-MOD51",
         medicare([base("PCN-MOD51", mods=("GP", "51"))]),
         medicare([base("PCN-MOD51-OK")]))
    write("T97012-MOD51.nomod.837",
          medicare([base("PCN-MOD51-NOMOD", mods=("51",))]))
    pair("T97012-NCCI-97140",
         commercial([visit("PCN-NCCI", L("97012"), L("97140"))]),
         commercial([visit("PCN-NCCI-XU", L("97012"), L("97140", mods=("GP", "XU")))]))
    write("T97012-NCCI-97140.cross.837",
          commercial([base("PCN-NCCI-A"), visit("PCN-NCCI-B", L("97140"), L("97110"))]))
    pair("T97012-CMT",
         medicare([visit("PCN-CMT", L("98941", mods=("AT",)), L("97012", mods=("GP", "GY")),
                         render="dc")], billing="dc"),
         medicare([visit("PCN-CMT-OK", L("98941", mods=("AT",), date="20260113"),
                         L("97012", mods=("GP", "GY")), L("97110", mods=("GP", "GY")),
                         render="dc")], billing="dc"))
    pair("T97012-CHIRO-MEDICARE",
         medicare([base("PCN-CHIRO")], billing="dc"),
         medicare([visit("PCN-CHIRO-GY", L("97012", mods=("GP", "GY")),
                         L("97110", mods=("GP", "GY")))], billing="dc"))
    pair("T97012-DEVICE",
         medicare([visit("PCN-S9090", L("S9090", mods=()), L("97110"))]),
         medicare([visit("PCN-S9090-GY", L("S9090", mods=("GY",)), L("97110"))]))
    write("T97012-DEVICE.note.837",
          medicare([visit("PCN-NTE-VAXD", L("97012"), L("97110"),
                          note="LUMBAR DECOMPRESSION ON VAX-D TABLE 20 MIN")]))
    write("T97012-DEVICE.note-clean.837",
          medicare([visit("PCN-NTE-HALTER", L("97012"), L("97110"),
                          note="CERVICAL HALTER TRACTION 12 LB 15 MIN SUPINE")]))
    pair("T97012-DX-SUPPORT",
         medicare([visit("PCN-DX", L("97012", ptr=(2,)), L("97110"), dx=("M5416", "R519"))]),
         medicare([visit("PCN-DX-OK", L("97012", ptr=(1,)), L("97110", ptr=(2,)),
                         dx=("M5416", "R519"))]))
    pair("T97012-STANDALONE",
         medicare([visit("PCN-ALONE", L("97012"))]),
         medicare([visit("PCN-ALONE-EVAL", L("97161"), L("97012"))]))
    pair("T97012-MODALITIES",
         medicare([visit("PCN-MODAL3", L("97012"), L("97035"), L("97032"), L("97110"))]),
         medicare([visit("PCN-MODAL2", L("97012"), L("97035"), L("97110"))]))
    pair("T97012-VISITS", visits_claims(13), visits_claims(12))
    pair("T97012-KX", kx_claims(99), kx_claims(16))
    pair("T97012-REFERRAL",
         medicare([visit("PCN-NOREF", L("97012"), L("97110"), refer=None)]),
         medicare([visit("PCN-REF-LINE", L("97012", refer="md2"), L("97110"), refer=None)]))
    pair("T97010-BUNDLED",
         medicare([visit("PCN-97010", L("97010"), L("97012"), L("97110"))]),
         medicare([visit("PCN-NO97010", L("97012"), L("97110"))]))
    pair("T97014-MEDICARE",
         medicare([visit("PCN-97014", L("97014"), L("97012"), L("97110"))]),
         medicare([visit("PCN-G0283", L("G0283"), L("97012"), L("97110"))]))


if __name__ == "__main__":
    main()
