#!/usr/bin/env python3
"""Generate the project's synthetic 837P (005010X222A1) sample files in samples/.

Everything here is synthetic: TESTPATIENT/SYNTHETIC names, made-up addresses and member ids,
NPIs built with tools/npi.py (Luhn with prefix 80840). Run from the repo root:

    python3 tools/make_samples.py            # (re)writes samples/*.837

The files are checked with pyx12 (x12valid) and tools/check_samples.py; see samples/README.md.
"""
import os
import sys
from dataclasses import dataclass, field
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npi import make_npi, is_valid_npi  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")

# File creation date/time used everywhere (ISA09/10, GS04/05, BHT04/05).
# All service dates are on or before this date.
FILE_DATE = "20260116"
FILE_TIME = "1030"

# ---------------------------------------------------------------- synthetic providers
NPI = {
    "billing_pt": make_npi("123456789"),     # SYNTHETIC PHYSICAL THERAPY CLINIC
    "billing_chiro": make_npi("123456780"),  # SYNTHETIC CHIROPRACTIC CENTER
    "billing_fm": make_npi("123456781"),     # SYNTHETIC FAMILY PRACTICE
    "render_pt": make_npi("198765432"),      # TESTTHERAPIST PAT (PT)
    "render_pt2": make_npi("198765433"),     # TESTTHERAPIST LINE (PT, line level 2420A)
    "render_ot": make_npi("198765434"),      # TESTTHERAPIST OLIVE (OT)
    "render_dc": make_npi("198765435"),      # TESTCHIRO CHARLES (DC)
    "render_md": make_npi("198765436"),      # TESTDOCTOR FRANK (family medicine)
    "refer_md": make_npi("187654321"),       # TESTREFERRER DANA (referring physician)
    "refer_md2": make_npi("187654322"),      # TESTREFERRER LINE (2420F)
}
assert all(is_valid_npi(v) for v in NPI.values())

TAX = {
    "pt": "225100000X",     # physical therapist
    "ot": "225X00000X",     # occupational therapist
    "dc": "111N00000X",     # chiropractor
    "fm": "207Q00000X",     # family medicine
}

BILLING = {
    "pt": dict(name="SYNTHETIC PHYSICAL THERAPY CLINIC", npi=NPI["billing_pt"], tax=TAX["pt"],
               addr="100 TEST PLAZA", city="TESTVILLE", state="OH", zip="432150001", ein="990000001"),
    "dc": dict(name="SYNTHETIC CHIROPRACTIC CENTER", npi=NPI["billing_chiro"], tax=TAX["dc"],
               addr="200 FAKE AVENUE", city="TESTVILLE", state="OH", zip="432150002", ein="990000002"),
    "fm": dict(name="SYNTHETIC FAMILY PRACTICE", npi=NPI["billing_fm"], tax=TAX["fm"],
               addr="300 SAMPLE ROAD", city="MOCKTON", state="PA", zip="190990003", ein="990000003"),
}

RENDER = {
    "pt": ("TESTTHERAPIST", "PAT", NPI["render_pt"], TAX["pt"]),
    "pt2": ("TESTTHERAPIST", "LINE", NPI["render_pt2"], TAX["pt"]),
    "ot": ("TESTTHERAPIST", "OLIVE", NPI["render_ot"], TAX["ot"]),
    "dc": ("TESTCHIRO", "CHARLES", NPI["render_dc"], TAX["dc"]),
    "md": ("TESTDOCTOR", "FRANK", NPI["render_md"], TAX["fm"]),
}
REFER = {
    "md": ("TESTREFERRER", "DANA", NPI["refer_md"]),
    "md2": ("TESTREFERRER", "LINE", NPI["refer_md2"]),
}

PAYER = {
    "CI": ("SYNTHETIC HEALTH PLAN", "SYNPAYER01"),
    "MB": ("SYNTHETIC MEDICARE CONTRACTOR", "SYNMAC01"),
}


# ---------------------------------------------------------------- model
@dataclass
class Person:
    last: str
    first: str
    member_id: str
    dob: str
    sex: str
    addr: str = "1 NOWHERE LANE"
    city: str = "TESTVILLE"
    state: str = "OH"
    zip: str = "43215"


@dataclass
class Line:
    code: str
    charge: str                 # decimal string, e.g. "45" or "38.75"
    units: str = "1"
    mods: tuple = ()
    ptr: tuple = (1,)
    date: str = "20260105"
    render: str = None          # key into RENDER -> 2420A
    refer: str = None           # key into REFER -> 2420F


@dataclass
class Claim:
    pcn: str
    lines: list
    dx: tuple                   # ICD-10-CM codes, no decimal point, first is principal
    pos: str = "11"
    render: str = None          # 2310B
    refer: str = None           # 2310A
    note: str = None            # 2300 NTE*ADD
    dtp: tuple = ()             # extra 2300 DTP segments, e.g. (("454", "20251201"),)

    @property
    def total(self) -> Decimal:
        return sum((Decimal(l.charge) for l in self.lines), Decimal(0))


@dataclass
class Subscriber:
    person: Person
    sbr09: str                  # CI / MB
    claims: list = field(default_factory=list)   # claims when subscriber is the patient
    group: str = None
    patient: Person = None      # dependent patient (2000C) if set
    pat_rel: str = "19"         # PAT01 relationship when there is a dependent


@dataclass
class BillingTree:
    billing: str                # key into BILLING
    subscribers: list


def amt(d: Decimal) -> str:
    """X12 R type: no trailing zeros, no trailing point."""
    s = format(d.normalize(), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


# ---------------------------------------------------------------- segment builders
def transaction_body(trees, bht_ref):
    """Segments from BHT through the last 2400 (no ST/SE)."""
    segs = [
        ["BHT", "0019", "00", bht_ref, FILE_DATE, FILE_TIME, "CH"],
        ["NM1", "41", "2", "SYNTHETIC BILLING SERVICE", "", "", "", "", "46", "SYNSUB01"],
        ["PER", "IC", "TESTCONTACT SAM", "TE", "5555550100"],
        ["NM1", "40", "2", "SYNTHETIC CLEARINGHOUSE", "", "", "", "", "46", "SYNRCV01"],
    ]
    hl = 0
    for tree in trees:
        b = BILLING[tree.billing]
        hl += 1
        bill_hl = hl
        segs += [
            ["HL", str(bill_hl), "", "20", "1"],
            ["PRV", "BI", "PXC", b["tax"]],
            ["NM1", "85", "2", b["name"], "", "", "", "", "XX", b["npi"]],
            ["N3", b["addr"]],
            ["N4", b["city"], b["state"], b["zip"]],
            ["REF", "EI", b["ein"]],
        ]
        for sub in tree.subscribers:
            hl += 1
            sub_hl = hl
            p = sub.person
            dep = sub.patient is not None
            segs.append(["HL", str(sub_hl), str(bill_hl), "22", "1" if dep else "0"])
            sbr = ["SBR", "P", "" if dep else "18", sub.group or "", "", "", "", "", "", sub.sbr09]
            segs.append(sbr)
            segs += [
                ["NM1", "IL", "1", p.last, p.first, "", "", "", "MI", p.member_id],
                ["N3", p.addr],
                ["N4", p.city, p.state, p.zip],
                ["DMG", "D8", p.dob, p.sex],
            ]
            pname, pid = PAYER[sub.sbr09]
            segs.append(["NM1", "PR", "2", pname, "", "", "", "", "PI", pid])
            if dep:
                hl += 1
                q = sub.patient
                segs += [
                    ["HL", str(hl), str(sub_hl), "23", "0"],
                    ["PAT", sub.pat_rel],
                    ["NM1", "QC", "1", q.last, q.first],
                    ["N3", q.addr],
                    ["N4", q.city, q.state, q.zip],
                    ["DMG", "D8", q.dob, q.sex],
                ]
            for c in sub.claims:
                segs += claim_segments(c)
    return segs


def claim_segments(c: Claim):
    assert len(c.lines) >= 1
    segs = [["CLM", c.pcn, amt(c.total), "", "", [c.pos, "B", "1"], "Y", "A", "Y", "Y"]]
    for qual, date in c.dtp:
        segs.append(["DTP", qual, "D8", date])
    if c.note:
        segs.append(["NTE", "ADD", c.note])
    hi = ["HI"]
    for i, code in enumerate(c.dx):
        assert "." not in code
        hi.append(["ABK" if i == 0 else "ABF", code])
    segs.append(hi)
    if c.refer:
        last, first, npi = REFER[c.refer]
        segs.append(["NM1", "DN", "1", last, first, "", "", "", "XX", npi])
    if c.render:
        last, first, npi, tax = RENDER[c.render]
        segs += [["NM1", "82", "1", last, first, "", "", "", "XX", npi],
                 ["PRV", "PE", "PXC", tax]]
    for n, l in enumerate(c.lines, 1):
        assert all(1 <= p <= len(c.dx) for p in l.ptr)
        proc = ["HC", l.code] + list(l.mods)
        segs += [
            ["LX", str(n)],
            ["SV1", proc, amt(Decimal(l.charge)), "UN", l.units, "", "", [str(p) for p in l.ptr]],
            ["DTP", "472", "D8", l.date],
            ["REF", "6R", f"{c.pcn}-{n}"],
        ]
        if l.render:
            last, first, npi, tax = RENDER[l.render]
            segs += [["NM1", "82", "1", last, first, "", "", "", "XX", npi],
                     ["PRV", "PE", "PXC", tax]]
        if l.refer:
            last, first, npi = REFER[l.refer]
            segs.append(["NM1", "DN", "1", last, first, "", "", "", "XX", npi])
    return segs


# ---------------------------------------------------------------- serialisation
@dataclass
class Delims:
    elem: str = "*"
    rep: str = "^"
    comp: str = ":"
    seg: str = "~"
    eol: str = "\n"   # written after every segment terminator ("" for none)


def render_seg(seg, d: Delims) -> str:
    out = []
    for e in seg:
        if isinstance(e, list):
            while e and e[-1] == "":
                e = e[:-1]
            e = d.comp.join(e)
        out.append(e)
    while out and out[-1] == "":
        out.pop()
    return d.elem.join(out) + d.seg + d.eol


def isa(ctrl: int, d: Delims):
    e = d.elem
    s = (f"ISA{e}00{e}{'':10}{e}00{e}{'':10}{e}ZZ{e}{'SYNSUB01':<15}{e}ZZ{e}{'SYNRCV01':<15}{e}"
         f"{FILE_DATE[2:]}{e}{FILE_TIME}{e}{d.rep}{e}00501{e}{ctrl:09d}{e}0{e}T{e}{d.comp}{d.seg}")
    assert len(s) == 106, len(s)
    return s + d.eol


def interchange(ctrl: int, groups, d: Delims) -> str:
    """groups: list of (gs_ctrl, [(st_ctrl, trees), ...])."""
    out = [isa(ctrl, d)]
    for gs_ctrl, sets in groups:
        out.append(render_seg(["GS", "HC", "SYNSUB01", "SYNRCV01", FILE_DATE, FILE_TIME,
                               str(gs_ctrl), "X", "005010X222A1"], d))
        for st_ctrl, trees in sets:
            body = transaction_body(trees, f"SYNBATCH{ctrl:03d}{gs_ctrl:02d}{st_ctrl}")
            segs = [["ST", "837", st_ctrl, "005010X222A1"]] + body
            segs.append(["SE", str(len(segs) + 1), st_ctrl])
            out += [render_seg(s, d) for s in segs]
        out.append(render_seg(["GE", str(len(sets)), str(gs_ctrl)], d))
    out.append(render_seg(["IEA", str(len(groups)), f"{ctrl:09d}"], d))
    return "".join(out)


def write(name, text, d: Delims):
    data = text.encode("ascii")
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {path} ({len(data)} bytes)")


# ---------------------------------------------------------------- synthetic people
JANE = Person("TESTPATIENT", "JANE", "SYNMEM0001", "19800101", "F", "10 SYNTHETIC STREET")
JOHN = Person("TESTSUBSCRIBER", "JOHN", "SYNMEM0002", "19750615", "M", "20 EXAMPLE COURT")
JUNIOR = Person("TESTPATIENT", "JUNIOR", "", "20120310", "M", "20 EXAMPLE COURT")
MARY = Person("TESTPATIENT", "MARY", "SYNMBI00001", "19500220", "F", "30 MOCK DRIVE")
ALICE = Person("TESTPATIENT", "ALICE", "SYNMBI00011", "19520404", "F", "41 FAKE STREET")
BOB = Person("TESTPATIENT", "BOB", "SYNMEM0012", "19690909", "M", "42 FAKE STREET")
CAROL = Person("TESTPATIENT", "CAROL", "SYNMBI00013", "19480707", "F", "43 FAKE STREET")
DAVID = Person("TESTPATIENT", "DAVID", "SYNMEM0014", "19851212", "M", "44 FAKE STREET")
ERIN = Person("TESTPATIENT", "ERIN", "SYNMBI00015", "19550505", "F", "45 FAKE STREET")
FRED = Person("TESTPATIENT", "FRED", "SYNMBI00016", "19470303", "M", "46 FAKE STREET")
GINA = Person("TESTPATIENT", "GINA", "SYNMEM0021", "19900101", "F", "51 SAMPLE AVENUE",
              "MOCKTON", "PA", "19099")
HANK = Person("TESTPATIENT", "HANK", "SYNMEM0022", "19820202", "M", "52 SAMPLE AVENUE",
              "MOCKTON", "PA", "19099")
IVY = Person("TESTPATIENT", "IVY", "SYNMBI00023", "19580808", "F", "53 SAMPLE AVENUE",
             "MOCKTON", "PA", "19099")

# Charges (synthetic fee schedule)
FEE = {"97110": "45", "97112": "48", "97530": "52.5", "97140": "44", "97012": "38.75",
       "97010": "15", "97014": "22", "97035": "25", "97161": "125", "98941": "65",
       "S9090": "150", "99213": "110", "97116": "40", "97750": "60"}


def L(code, units="1", mods=("GP",), ptr=(1,), date="20260105", **kw):
    charge = Decimal(FEE[code]) * Decimal(units)
    return Line(code, amt(charge), units, tuple(mods), tuple(ptr), date, **kw)


# ---------------------------------------------------------------- files
def file_clean_single():
    c = Claim("PCN-CLEAN-SINGLE", [
        L("97110", "2", date="20260108"),
        L("97530", "1", date="20260108"),
    ], dx=("M5416", "M62830"), render="pt", refer="md")
    trees = [BillingTree("pt", [Subscriber(JANE, "CI", [c], group="SYNGRP001")])]
    d = Delims()
    write("clean-single-claim.837", interchange(101, [(1, [("0001", trees)])], d), d)


def file_dependent():
    c = Claim("PCN-DEPENDENT-1", [
        L("97110", "1", date="20260109", ptr=(1, 2)),
        L("97112", "1", date="20260109", ptr=(1,)),
    ], dx=("M542", "M6281"), render="pt", refer="md")
    sub = Subscriber(JOHN, "CI", [c], group="SYNGRP002", patient=JUNIOR, pat_rel="19")
    trees = [BillingTree("pt", [sub])]
    d = Delims()
    write("dependent-patient.837", interchange(102, [(1, [("0001", trees)])], d), d)


def file_multi_st_gs():
    # GS 1, ST 0001: PT clinic, two claims for one subscriber
    st1 = [BillingTree("pt", [Subscriber(JANE, "CI", [
        Claim("PCN-MSG-G1S1-A", [L("97110", "2", date="20260105"),
                                 L("97140", "1", date="20260105")], dx=("M5416",), render="pt"),
        Claim("PCN-MSG-G1S1-B", [L("97110", "1", date="20260107")], dx=("M5416",), render="pt"),
    ], group="SYNGRP001")])]
    # GS 1, ST 0002: family practice, one Medicare claim
    st2 = [BillingTree("fm", [Subscriber(IVY, "MB", [
        Claim("PCN-MSG-G1S2-A", [L("99213", mods=(), date="20260106")],
              dx=("M542", "M25511"), render="md"),
    ])])]
    # GS 2, ST 0003: PT clinic, two subscribers, one claim each
    st3 = [BillingTree("pt", [
        Subscriber(GINA, "CI", [Claim("PCN-MSG-G2S3-A", [L("97110", "1", date="20260112"),
                                                          L("97530", "2", date="20260112")],
                                      dx=("M5450",), render="pt")], group="SYNGRP003"),
        Subscriber(HANK, "CI", [Claim("PCN-MSG-G2S3-B", [L("97116", "2", date="20260113")],
                                      dx=("M5430",), render="pt")], group="SYNGRP003"),
    ])]
    d = Delims()
    write("multi-st-gs.837",
          interchange(103, [(1, [("0001", st1), ("0002", st2)]), (2, [("0003", st3)])], d), d)


def file_multi_interchange():
    t1 = [BillingTree("pt", [Subscriber(JANE, "CI", [
        Claim("PCN-MI-ISA1-A", [L("97110", "1", date="20260105"),
                                L("97112", "1", date="20260105")], dx=("M5412",), render="pt"),
    ], group="SYNGRP001")])]
    t2 = [BillingTree("pt", [Subscriber(MARY, "MB", [
        Claim("PCN-MI-ISA2-A", [L("97110", "2", date="20260106")], dx=("M5450",), render="pt",
              refer="md"),
        Claim("PCN-MI-ISA2-B", [L("97530", "1", date="20260108")], dx=("M5450",), render="pt",
              refer="md"),
    ])])]
    d = Delims()
    text = interchange(104, [(1, [("0001", t1)])], d) + interchange(105, [(1, [("0001", t2)])], d)
    write("multi-interchange.837", text, d)


def file_no_line_breaks():
    trees = [BillingTree("pt", [
        Subscriber(GINA, "CI", [
            Claim("PCN-NOLB-A", [L("97110", "2", date="20260105"),
                                 L("97530", "1", date="20260105")], dx=("M5416", "M5430"),
                  render="pt"),
            Claim("PCN-NOLB-B", [L("97110", "1", date="20260107"),
                                 L("97140", "1", date="20260107")], dx=("M5416",), render="pt"),
        ], group="SYNGRP003"),
        Subscriber(HANK, "CI", [
            Claim("PCN-NOLB-C", [L("97161", date="20251230"), L("97110", "1", date="20251230")],
                  dx=("M542",), render="pt"),
        ], group="SYNGRP003"),
    ])]
    d = Delims(eol="")
    write("no-line-breaks.837", interchange(106, [(1, [("0001", trees)])], d), d)


def file_odd_delimiters():
    trees = [BillingTree("pt", [Subscriber(JANE, "CI", [
        Claim("PCN-ODD-A", [L("97110", "2", date="20260109"), L("97112", "1", date="20260109")],
              dx=("M5416", "M62830"), render="pt", refer="md"),
        Claim("PCN-ODD-B", [L("97530", "1", date="20260112")], dx=("M542",), render="pt"),
    ], group="SYNGRP001")])]
    d = Delims(elem="|", rep="{", comp="\\", seg="'", eol="\r\n")
    write("odd-delimiters.837", interchange(107, [(1, [("0001", trees)])], d), d)


def file_crlf():
    trees = [BillingTree("pt", [Subscriber(MARY, "MB", [
        Claim("PCN-CRLF-MCR", [L("97110", "2", date="20260113"), L("97112", "1", date="20260113"),
                               L("97530", "1", date="20260113")],
              dx=("M5450", "M62830"), render="pt", refer="md"),
    ])])]
    d = Delims(eol="\r\n")
    write("crlf.837", interchange(108, [(1, [("0001", trees)])], d), d)


# 97012 claim set. Patients and dates are chosen so that no two claims share a
# (patient, date of service) except the intended duplicate pair (PCN-DUPCLM-A/B).
def claims_97012():
    A = "pt"  # default rendering (2310B) for most claims
    alice = [  # Medicare
        Claim("PCN-CLEAN1", [L("97012", date="20260105"), L("97110", "2", date="20260105")],
              dx=("M5416", "M5126"), render=A, refer="md"),
        Claim("PCN-UNITS3", [L("97012", "3", date="20260107"), L("97110", "2", date="20260107")],
              dx=("M5416",), render=A, refer="md"),
        Claim("PCN-S9090-MCR", [L("S9090", mods=(), date="20260109"),
                                L("97110", "2", date="20260109")],
              dx=("M5126", "M5416"), render=A, refer="md"),
        Claim("PCN-TWODATES", [L("97012", date="20260112"), L("97110", "1", date="20260112"),
                               L("97012", date="20260114"), L("97110", "1", date="20260114")],
              dx=("M5416",), render=A, refer="md"),
    ]
    bob = [  # commercial
        Claim("PCN-CLEAN2-COMM", [L("97012", date="20260105"), L("97110", "1", date="20260105")],
              dx=("M542", "M50120"), render=A, refer="md"),
        Claim("PCN-DUPLINE", [L("97012", date="20260107"), L("97012", date="20260107"),
                              L("97110", "1", date="20260107")],
              dx=("M542",), render=A, refer="md"),
        Claim("PCN-97140-XU", [L("97012", date="20260109"),
                               L("97140", mods=("GP", "XU"), date="20260109")],
              dx=("M542",), render=A, refer="md"),
        Claim("PCN-STANDALONE", [L("97012", date="20260112")], dx=("M542",), render=A,
              refer="md"),
        Claim("PCN-NOREFERRAL", [L("97012", date="20260113"), L("97110", "1", date="20260113")],
              dx=("M542",), render=A),
        Claim("PCN-MODAL3", [L("97012", date="20260114"), L("97014", date="20260114"),
                             L("97035", date="20260114"), L("97110", "1", date="20260114")],
              dx=("M542", "M62830"), render=A, refer="md"),
    ]
    carol = [  # Medicare
        Claim("PCN-NOMOD-PT", [L("97012", mods=(), date="20260106", render="pt2"),
                               L("97110", "1", date="20260106", render="pt2")],
              dx=("M4726",), refer="md"),
        Claim("PCN-MOD51", [L("97012", mods=("GP", "51"), date="20260108"),
                            L("97110", "1", date="20260108")],
              dx=("M48061",), render=A, refer="md"),
        Claim("PCN-DX-NOSUPPORT", [L("97012", ptr=(2,), date="20260112"),
                                   L("97110", "1", ptr=(1,), date="20260112")],
              dx=("M5416", "R519"), render=A, refer="md"),
        Claim("PCN-97014-MCR", [L("97014", date="20260113"), L("97012", date="20260113"),
                                L("97110", "1", date="20260113")],
              dx=("M5416",), render=A, refer="md"),
    ]
    david = [  # commercial, seen by the OT and PT
        Claim("PCN-NOMOD-OT", [L("97012", mods=(), date="20260106"),
                               L("97530", "1", mods=("GO",), date="20260106")],
              dx=("M5412",), render="ot", refer="md"),
        Claim("PCN-NCCI-97140", [L("97012", date="20260108"), L("97140", date="20260108")],
              dx=("M5416",), render=A, refer="md"),
        Claim("PCN-NTE-VAXD", [L("97012", date="20260112"), L("97110", "1", date="20260112")],
              dx=("M5126", "M5416"), render=A, refer="md",
              note="LUMBAR DECOMPRESSION ON VAX-D TABLE 20 MIN PER PLAN OF CARE"),
        Claim("PCN-97010", [L("97010", date="20260113"), L("97012", date="20260113"),
                            L("97110", "1", date="20260113")],
              dx=("M5416",), render=A, refer="md"),
        Claim("PCN-REF-2420F", [L("97012", date="20260114", refer="md2"),
                                L("97110", "1", date="20260114")],
              dx=("M5416",), render=A),
    ]
    erin = [  # Medicare
        Claim("PCN-EVAL-97161", [L("97161", date="20260105"), L("97012", date="20260105"),
                                 L("97110", "1", date="20260105")],
              dx=("M5450", "M62830"), render=A, refer="md"),
        Claim("PCN-DUPCLM-A", [L("97012", date="20260107"), L("97110", "1", date="20260107")],
              dx=("M5450",), render=A, refer="md"),
        Claim("PCN-DUPCLM-B", [L("97012", date="20260107"), L("97112", "1", date="20260107")],
              dx=("M5450",), render=A, refer="md"),
    ]
    fred_chiro = [  # Medicare, chiropractor
        Claim("PCN-CHIRO-CMT", [L("98941", mods=("AT",), ptr=(1, 2), date="20260106"),
                                L("97012", ptr=(2,), date="20260106")],
              dx=("M9903", "M5416"), render="dc", refer="md",
              dtp=(("454", "20251201"), ("304", "20251215"))),
    ]
    trees = [
        BillingTree("pt", [
            Subscriber(ALICE, "MB", alice),
            Subscriber(BOB, "CI", bob, group="SYNGRP012"),
            Subscriber(CAROL, "MB", carol),
            Subscriber(DAVID, "CI", david, group="SYNGRP014"),
            Subscriber(ERIN, "MB", erin),
        ]),
        BillingTree("dc", [Subscriber(FRED, "MB", fred_chiro)]),
    ]
    return trees


def file_97012():
    d = Delims()
    write("97012-claims.837", interchange(109, [(1, [("0001", claims_97012())])], d), d)


def main():
    os.makedirs(OUT, exist_ok=True)
    file_clean_single()
    file_dependent()
    file_multi_st_gs()
    file_multi_interchange()
    file_no_line_breaks()
    file_odd_delimiters()
    file_crlf()
    file_97012()


if __name__ == "__main__":
    main()
