#!/usr/bin/env python3
"""Generate the bad-input corpus in tests/bad/ and its manifest tests/bad/manifest.toml.

Every file is samples/clean-single-claim.837 (or a two-claim variant of it) with ONE defect,
so that each file tests one thing. Everything is synthetic (TESTPATIENT/SYNTHETIC names,
SYNMEM member ids). Run from the repo root:

    python3 tools/make_bad_corpus.py

The manifest gives, for each file, a one-line description, the expected exit codes of
`parse`, `check` and `scrub`, the number of CLM segments the file holds (counted here, by
the generator, independently of the crate), and the expected answer; tests/bad_corpus.rs
replays it. The keys of a case (all but file/what/parse/check/scrub/clms are optional):

    file, what         the file name and what is wrong with it
    parse/check/scrub  expected exit code, or a list of acceptable codes
    clms               CLM segments in the file (every claim read must be accounted for)
    error              exit 2: words the one error line must contain
    ta1                the TA1 answer, "R 006" (TA104 TA105); "none" = no TA1 written
    ta1_not            strings the TA1 must not echo (an invalid ISA13 or ISA09)
    ik5                IK501 of every AK2 in the 999, in order
    ik502              codes that must appear in IK502..IK506 of some IK5 ("6|19": either)
    ik3                "SEG*IK304" of IK3 segments that must appear
    ik4                "IK401*IK403" (or "IK401*IK402*IK403") of IK4 segments that must appear;
                       IK401 "7" also matches "7:1", "7:1" only "7:1"; IK403 "7|I6": either
    ak9                AK901 of every AK9, in order
    ak905              codes that must appear in AK905..AK909 of some AK9 ("6|19": either)
    rules              rule ids that must appear in parse/check output and in the report
    warnings           rule ids reported exactly once, as a warning (parse, check, report)
    claims             the accounting: corrected, rejected_277ca, rejected_999, rejected_ta1
    stc                277CA STC01 values (category:status) that must appear
    rejected_pcns      claims rejected in the 277CA (an A3/A6/A7/A8 STC after their TRN)
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "bad")
BASE_PATH = os.path.join(ROOT, "samples", "clean-single-claim.837")

with open(BASE_PATH, "rb") as f:
    BASE_TEXT = f.read().decode("ascii")

# The base as a list of segment bodies (no terminator, no line break).
BASE = [s.strip() for s in BASE_TEXT.split("~") if s.strip()]
assert BASE[0].startswith("ISA") and BASE[-1].startswith("IEA"), BASE[-1]
ISA = BASE[0]
assert len(ISA) + 1 == 106

# The second claim of the two-claim base: same subscriber, one 97110 line on another day.
SECOND_CLAIM = [
    "CLM*PCN-SECOND*90***11:B:1*Y*A*Y*Y",
    "HI*ABK:M5416*ABF:M62830",
    "NM1*DN*1*TESTREFERRER*DANA****XX*1876543210",
    "NM1*82*1*TESTTHERAPIST*PAT****XX*1987654328",
    "PRV*PE*PXC*225100000X",
    "LX*1",
    "SV1*HC:97110:GP*90*UN*2***1",
    "DTP*472*D8*20260109",
    "REF*6R*PCN-SECOND-1",
]


def base():
    return list(BASE)


def two_claims():
    """The base with a second claim after the first (before SE)."""
    segs = base()
    se = index(segs, "SE*")
    return recount(segs[:se] + SECOND_CLAIM + segs[se:])


def index(segs, prefix, nth=0):
    hits = [i for i, s in enumerate(segs) if s.startswith(prefix)]
    return hits[nth]


def replace(segs, prefix, new, nth=0):
    segs = list(segs)
    segs[index(segs, prefix, nth)] = new
    return segs


def remove(segs, prefix, nth=0):
    segs = list(segs)
    del segs[index(segs, prefix, nth)]
    return segs


def insert_after(segs, prefix, new, nth=0):
    segs = list(segs)
    i = index(segs, prefix, nth) + 1
    return segs[:i] + list(new) + segs[i:]


def recount(segs):
    """Recomputes SE01, GE01 and IEA01 from the structure (cases that want a bad count break
    it afterwards)."""
    segs = list(segs)
    st_at = None
    sets_in_group = 0
    groups = 0
    for i, s in enumerate(segs):
        e = s.split("*")
        if e[0] == "ISA":
            groups = 0
        elif e[0] == "GS":
            groups += 1
            sets_in_group = 0
        elif e[0] == "ST":
            st_at = i
            sets_in_group += 1
        elif e[0] == "SE" and st_at is not None:
            e[1] = str(i - st_at + 1)
            segs[i] = "*".join(e)
            st_at = None
        elif e[0] == "GE":
            e[1] = str(sets_in_group)
            segs[i] = "*".join(e)
        elif e[0] == "IEA":
            e[1] = str(groups)
            segs[i] = "*".join(e)
    return segs


def isa_field(n, value, isa=ISA):
    """The ISA with element n replaced by value (no padding: the caller picks the width)."""
    e = isa.split("*")
    e[n] = value
    return "*".join(e)


def render(segs, term="~", eol="\n"):
    return "".join(s + term + eol for s in segs).encode("ascii")


def count_clm(data: bytes) -> int:
    """CLM segments in the file: a CLM id right after a segment terminator (any of ~, CR, LF,
    or the start of an ST body), counted on the raw bytes and independently of the crate."""
    text = data.decode("latin-1")
    # Find the element separator and terminator by counting separators in the first ISA.
    start = text.find("ISA")
    if start < 0:
        return 0
    sep = text[start + 3]
    fields = 0
    i = start + 3
    while i < len(text) and fields < 16:
        if text[i] == sep:
            fields += 1
        i += 1
    if i + 1 >= len(text):
        return 0
    term = text[i + 1]  # i is ISA16 (the component separator)
    n = 0
    for seg in text[start:].split(term):
        if seg.strip(" \t\r\n\x00\x1a").startswith("CLM" + sep):
            n += 1
    return n


CASES = []


def with_isa(isa, segs=None):
    segs = list(segs or base())
    segs[0] = isa
    return segs


def case(file, what, data, parse, check, scrub, **answer):
    if isinstance(data, list):
        data = render(data)
    CASES.append(dict(file=file, what=what, data=data, parse=parse, check=check, scrub=scrub,
                      **answer))


ACCEPTED = dict(ta1="none", ik5=["A"], ak9=["A"])


def claims(corrected=0, rejected_277ca=0, rejected_999=0, rejected_ta1=0):
    return dict(corrected=corrected, rejected_277ca=rejected_277ca, rejected_999=rejected_999,
                rejected_ta1=rejected_ta1)


CLEAN = render(base())

# --------------------------------------------------------------------------------------
# Tolerated quirks: read with one warning (X12-FORMAT), answered IK5 A, no TA1, exit 1.
# --------------------------------------------------------------------------------------
QUIRK = dict(ACCEPTED, warnings=["X12-FORMAT"], claims=claims(corrected=1))

case("bom.837", "UTF-8 byte-order mark before ISA", b"\xef\xbb\xbf" + CLEAN, 1, 1, 1, **QUIRK)
case("leading-whitespace.837", "blank lines, spaces and a tab before ISA",
     b"\r\n  \n\t " + CLEAN, 1, 1, 1, **QUIRK)
case("trailing-ctrl-z.837", "Ctrl-Z (0x1A, DOS end of file) after the last IEA",
     CLEAN + b"\x1a", 1, 1, 1, **QUIRK)
case("trailing-nul.837", "64 NUL bytes of padding after the last IEA",
     CLEAN + b"\x00" * 64, 1, 1, 1, **QUIRK)
case("trailing-whitespace.837", "spaces, tabs and blank lines of padding after the last IEA",
     CLEAN + b"   \t\n\n" * 40, 1, 1, 1, **QUIRK)
case("lf-terminated.837", "segment terminator is a newline (ISA byte 106 is LF)",
     render(base(), term="\n", eol=""), 1, 1, 1, **QUIRK)
case("cr-terminated.837", "segment terminator is a carriage return (ISA byte 106 is CR)",
     render(base(), term="\r", eol=""), 1, 1, 1, **QUIRK)


def indented(segs):
    out = []
    depth = {"ISA": 0, "GS": 1, "ST": 2, "SE": 2, "GE": 1, "IEA": 0, "HL": 3, "CLM": 4, "LX": 5}
    level = 0
    for s in segs:
        sid = s.split("*")[0]
        if sid in depth:
            level = depth[sid]
            pad = level
            if sid in ("HL", "CLM", "LX"):
                level += 1
        else:
            pad = level
        out.append(("  " * pad + s + "~\n").encode("ascii"))
    return b"".join(out)


case("indented.837", "segments indented by loop depth (spaces before each segment id)",
     indented(base()), 1, 1, 1, **QUIRK)
case("junk-before-isa.837", "a transmission header line before ISA (within 4 KiB)",
     b"$$ADD ID=SYNSUB01 BID='SYNBATCH101'\r\n" + CLEAN, 1, 1, 1, **QUIRK)
junk_line = b"# synthetic spool header line, padding the file before the interchange #\n"
junk_4000 = (junk_line * 60)[:4000]
case("junk-4000-before-isa.837", "4000 bytes of text lines before ISA (just within 4 KiB)",
     junk_4000 + CLEAN, 1, 1, 1, **QUIRK)
pre_a1 = [s.replace("005010X222A1", "005010X222") for s in base()]
case("pre-a1-x222.837", "a pre-A1 005010X222 set: read with the A1 grammar and a warning",
     pre_a1, 1, 1, 1, ta1="none", ik5=["A"], ak9=["A"], warnings=["X12-GUIDE"],
     claims=claims(corrected=1))

# --------------------------------------------------------------------------------------
# Unreadable input: exit 2 everywhere, one error line, no outputs.
# --------------------------------------------------------------------------------------


def garbage(n, seed):
    x = seed
    out = bytearray()
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out.append(x >> 24)
    return bytes(out)


case("empty.837", "an empty file", b"", 2, 2, 2, error=["empty"])
case("whitespace-only.837", "only spaces, tabs and line breaks", b"  \r\n\t \n\n   \n", 2, 2, 2,
     error=["empty"])
case("binary-garbage.837", "512 bytes of pseudo-random binary", garbage(512, 0x2545F491),
     2, 2, 2, error=["ISA"])
case("utf16le-bom.837", "the clean file in UTF-16 little-endian with its BOM",
     b"\xff\xfe" + CLEAN.decode("ascii").encode("utf-16-le"), 2, 2, 2, error=["UTF-16"])
case("utf16be-no-bom.837", "the clean file in UTF-16 big-endian, no BOM",
     CLEAN.decode("ascii").encode("utf-16-be"), 2, 2, 2, error=["UTF-16"])
junk_5000 = (junk_line * 80)[:5000]
case("junk-beyond-4k.837", "5000 bytes of text before ISA (no ISA within the first 4 KiB)",
     junk_5000 + CLEAN, 2, 2, 2, error=["ISA"])
case("truncated-in-isa.837", "the file ends inside the ISA (first 50 bytes)", CLEAN[:50],
     2, 2, 2, error=["ISA"])

# --------------------------------------------------------------------------------------
# Truncated later and interchange trailers: answered by the TA1.
# --------------------------------------------------------------------------------------
in_claim = CLEAN[:CLEAN.index(b"SV1*HC:97110") + 20]
case("truncated-in-claim.837", "the file ends in the middle of the first SV1 (no SE/GE/IEA)",
     in_claim, 1, 1, 1, ta1="R 023", claims=claims(rejected_ta1=1))
before_iea = CLEAN[:CLEAN.index(b"IEA*")]
case("truncated-before-iea.837", "the file ends after GE: no IEA", before_iea, 1, 1, 1,
     ta1="R 023", claims=claims(rejected_ta1=1))
# ISA14 1 in these: a TA1 E is written only when one is asked for.
ASK_TA1 = isa_field(14, "1")
case("unterminated-iea.837", "the last IEA has no segment terminator (ISA14 asks for a TA1)",
     render(with_isa(ASK_TA1)).rstrip(b"\n").rstrip(b"~"), 1, 1, 1, ta1="E 023", ik5=["A"],
     ak9=["A"], claims=claims(corrected=1))
case("mismatched-iea02.837", "IEA02 differs from ISA13 (ISA14 asks for a TA1)",
     replace(with_isa(ASK_TA1), "IEA*", "IEA*1*000000102"), 1, 1, 1, ta1="E 001", ik5=["A"],
     ak9=["A"], claims=claims(corrected=1))
case("wrong-iea01.837", "IEA01 says 2 groups, the interchange has 1 (ISA14 asks for a TA1)",
     replace(with_isa(ASK_TA1), "IEA*", "IEA*2*000000101"), 1, 1, 1, ta1="E 021", ik5=["A"],
     ak9=["A"], claims=claims(corrected=1))

# --------------------------------------------------------------------------------------
# ISA of the wrong width (read by counting separators) and invalid ISA fields: TA1 R.
# --------------------------------------------------------------------------------------
TA1_R = dict(rules=["X12-ISA"], claims=claims(rejected_ta1=1))


for file, what, n, value, note in [
    ("isa06-short.837", "ISA06 sender id 14 characters (ISA 105 bytes)", 6,
     "SYNSUB01      ", "006"),
    ("isa06-long.837", "ISA06 sender id 16 characters (ISA 107 bytes)", 6,
     "SYNSUB01        ", "006"),
    ("isa08-short.837", "ISA08 receiver id 13 characters (ISA 104 bytes)", 8,
     "SYNRCV01     ", "008"),
    ("isa02-short.837", "ISA02 authorization information 9 spaces (ISA 105 bytes)", 2,
     " " * 9, "011"),
    ("isa04-long.837", "ISA04 security information 11 spaces (ISA 107 bytes)", 4,
     " " * 11, "013"),
    ("isa10-short.837", "ISA10 time 3 digits (ISA 105 bytes)", 10, "103", "015"),
    # Two characters in ISA11 are no repetition separator: refused (026), unlike a 4010 'U'.
    ("isa11-wide.837", "ISA11 two characters (ISA 107 bytes)", 11, "^^", "026"),
]:
    isa = isa_field(n, value)
    assert len(isa) + 1 != 106
    case(file, what, with_isa(isa), 1, 1, 1, ta1="R " + note, **TA1_R)

isa13_short = isa_field(13, "00000101")
case("isa13-short.837", "ISA13 8 digits, IEA02 the same (ISA 105 bytes)",
     replace(with_isa(isa13_short), "IEA*", "IEA*1*00000101"), 1, 1, 1, ta1="R 018", **TA1_R)
for file, what, n, value, note, not_echoed in [
    ("isa13-invalid.837", "ISA13 not numeric (00000A101), IEA02 the same", 13, "00000A101",
     "018", ["00000A101"]),
    ("isa09-invalid.837", "ISA09 not a real date (261332)", 9, "261332", "014", ["261332"]),
    ("isa14-invalid.837", "ISA14 acknowledgment requested is 2", 14, "2", "019", []),
    ("isa15-invalid.837", "ISA15 usage indicator is X", 15, "X", "020", []),
    ("isa05-invalid.837", "ISA05 sender id qualifier QQ", 5, "QQ", "005", []),
]:
    isa = isa_field(n, value)
    assert len(isa) + 1 == 106
    segs = with_isa(isa)
    if n == 13:
        segs = replace(segs, "IEA*", "IEA*1*" + value)
    extra = dict(ta1_not=not_echoed) if not_echoed else {}
    case(file, what, segs, 1, 1, 1, ta1="R " + note, **TA1_R, **extra)
# No TA105 code names the repetition separator: 026 (data element separator) or 027
# (component element separator) are both accepted.
case("rep-sep-equals-comp-sep.837", "ISA11 repetition separator ':' equals ISA16 ':'",
     with_isa(isa_field(11, ":")), 1, 1, 1, ta1=["R 026", "R 027"], **TA1_R)
# A 4010 interchange is refused by the TA1 (scrub837 reads 5010 only): TA105 017 (invalid
# interchange version id, what the README documents) or 003 (version of the controls not
# supported); its claim is counted as rejected by the TA1.
isa4010 = isa_field(12, "00401", isa_field(11, "U"))
seg4010 = [s.replace("005010X222A1", "004010X098A1") for s in base()]
seg4010 = replace(seg4010, "ST*", "ST*837*0001")
case("interchange-4010.837", "a whole 4010 interchange (ISA11 U, ISA12 00401, 004010X098A1)",
     with_isa(isa4010, seg4010), 1, 1, 1, ta1=["R 017", "R 003"], **TA1_R)

# --------------------------------------------------------------------------------------
# Sets of other guides: IK5 R I6, every CLM counted as rejected by the 999.
# --------------------------------------------------------------------------------------
OTHER = dict(ta1="none", ik5=["R"], ik502=["I6"], ak9=["R"], rules=["X12-GUIDE"],
             claims=claims(rejected_999=1))
for file, what, guide in [
    ("guide-837i-x223.837", "an 837I 005010X223A2 set (institutional guide)", "005010X223A2"),
    ("guide-837d-x224.837", "an 837D 005010X224A2 set (dental guide)", "005010X224A2"),
    ("guide-x291.837", "an 837 005010X291 set (health care service data reporting)",
     "005010X291"),
    ("guide-x298.837", "an 837 005010X298 set (post-adjudicated claims reporting)",
     "005010X298"),
]:
    case(file, what, [s.replace("005010X222A1", guide) for s in base()], 1, 1, 1, **OTHER)
seg4010_in_5010 = [s.replace("005010X222A1", "004010X098A1") for s in base()]
seg4010_in_5010 = replace(seg4010_in_5010, "ST*", "ST*837*0001")
case("guide-4010-set.837", "a 4010 004010X098A1 group and set in a 5010 interchange",
     seg4010_in_5010, 1, 1, 1, **OTHER)
# Two groups: an 837P group (accepted) then an 837I group (rejected).
b = base()
gs, ge = index(b, "GS*"), index(b, "GE*")
group_p = b[gs:ge + 1]
group_i = [s.replace("005010X222A1", "005010X223A2") for s in group_p]
group_i = [s.replace("GS*HC*SYNSUB01*SYNRCV01*20260116*1030*1*", "GS*HC*SYNSUB01*SYNRCV01*20260116*1030*2*")
           .replace("GE*1*1", "GE*1*2").replace("PCN-CLEAN-SINGLE", "PCN-INSTITUTIONAL")
           for s in group_i]
mixed = recount(b[:gs] + group_p + group_i + b[ge + 1:])
case("guide-mixed-groups.837", "an 837P group, then an 837I X223A2 group in one interchange",
     mixed, 1, 1, 1, ta1="none", ik5=["A", "R"], ik502=["I6"], ak9=["A", "R"],
     rules=["X12-GUIDE"], claims=claims(corrected=1, rejected_999=1))

# --------------------------------------------------------------------------------------
# Shared positions: segments of one position in another order than the TR3 lists them.
# --------------------------------------------------------------------------------------
case("ref-ea-before-d9.837", "2300 REF*EA (medical record) before REF*D9 (claim id)",
     recount(insert_after(base(), "CLM*", ["REF*EA*SYNMRN0001", "REF*D9*SYNTRACE0001"])),
     0, 0, 0, ta1="none", ik5=["A"], ak9=["A"], claims=claims(corrected=1))
case("dtp-304-before-454.837", "2300 DTP*304 (last seen) before DTP*454 (initial treatment)",
     recount(insert_after(base(), "CLM*", ["DTP*304*D8*20260105", "DTP*454*D8*20251201"])),
     0, 0, 0, ta1="none", ik5=["A"], ak9=["A"], claims=claims(corrected=1))

# --------------------------------------------------------------------------------------
# Money that cannot be exact: only that claim rejected in the 277CA, the other goes on.
# The rule id is left open (the money helper chooses it): match the 277CA rejection.
# --------------------------------------------------------------------------------------
MONEY = dict(ta1="none", ik5=["A"], ak9=["A"], claims=claims(corrected=1, rejected_277ca=1),
             rejected_pcns=["PCN-SECOND"])
case("clm02-three-decimals.837", "second claim's CLM02 is 90.005 (not exact to the cent)",
     replace(two_claims(), "CLM*PCN-SECOND", "CLM*PCN-SECOND*90.005***11:B:1*Y*A*Y*Y"),
     [0, 1], 1, 1, **MONEY)
case("sv102-three-decimals.837", "second claim's SV102 is 90.001 (not exact to the cent)",
     replace(two_claims(), "SV1*HC:97110:GP*90*", "SV1*HC:97110:GP*90.001*UN*2***1", 1),
     [0, 1], 1, 1, **MONEY)
big = "123456789012345678"
case("amount-18-digits.837", "second claim's CLM02 and SV102 are 18 digits (beyond the cents range)",
     replace(replace(two_claims(), "CLM*PCN-SECOND", f"CLM*PCN-SECOND*{big}***11:B:1*Y*A*Y*Y"),
             "SV1*HC:97110:GP*90*", f"SV1*HC:97110:GP*{big}*UN*2***1", 1),
     [0, 1], 1, 1, **MONEY)

# --------------------------------------------------------------------------------------
# Envelope and control numbers inside the interchange: answered by the 999.
# --------------------------------------------------------------------------------------
esc = replace(base(), "CLM*", "CLM*PCN\x1bESC\x07BEL*142.5***11:B:1*Y*A*Y*Y")
case("esc-bel-in-clm01.837", "ESC and BEL control bytes in CLM01",
     esc, 1, 1, 1, ta1="none",
     ik5=["R"], ik4=["1*6"], ak9=["R"], claims=claims(rejected_999=1))
case("missing-se.837", "the set has no SE (GE follows the last REF)", remove(base(), "SE*"),
     1, 1, 1, ta1="none", ik5=["R"], ik502=["2"], ak9=["R"], claims=claims(rejected_999=1))
case("se01-wrong.837", "SE01 says 31 segments, the set has 32",
     replace(base(), "SE*", "SE*31*0001"), 1, 1, 1, ta1="none", ik5=["R"], ik502=["4"],
     ak9=["R"], claims=claims(rejected_999=1))
case("se02-mismatch.837", "SE02 differs from ST02", replace(base(), "SE*", "SE*32*0002"),
     1, 1, 1, ta1="none", ik5=["R"], ik502=["3"], ak9=["R"], claims=claims(rejected_999=1))
case("ge02-mismatch.837", "GE02 differs from GS06", replace(base(), "GE*", "GE*1*2"),
     1, 1, 1, ta1="none", ak9=["R"], ak905=["4"], claims=claims(rejected_999=1))
case("ge01-wrong.837", "GE01 says 2 sets, the group has 1", replace(base(), "GE*", "GE*2*1"),
     1, 1, 1, ta1="none", ak9=["R"], ak905=["5"], claims=claims(rejected_999=1))
b = base()
st, se = index(b, "ST*"), index(b, "SE*")
set2 = [s.replace("PCN-CLEAN-SINGLE", "PCN-DUP-ST02") for s in b[st:se + 1]]
case("duplicate-st02.837", "two sets in one group both numbered ST02 0001",
     recount(b[:se + 1] + set2 + b[se + 1:]), 1, 1, 1, ta1="none", ik5=["A", "R"],
     ik502=["23"], ak9=["P"], claims=claims(corrected=1, rejected_999=1))
set2b = [s.replace("ST*837*0001", "ST*837*0002").replace("SE*32*0001", "SE*32*0002")
         for s in set2]
st03 = [s.replace("ST*837*0002*005010X222A1", "ST*837*0002*005010X222A2") for s in set2b]
case("st03-ne-gs08.837", "second set's ST03 005010X222A2, its group's GS08 005010X222A1",
     recount(b[:se + 1] + st03 + b[se + 1:]), 1, 1, 1, ta1="none", ik5=["A", "R"],
     ik502=["19"], ak9=["P"], claims=claims(corrected=1, rejected_999=1))
group2 = [s.replace("PCN-CLEAN-SINGLE", "PCN-DUP-GS06") for s in b[index(b, "GS*"):index(b, "GE*") + 1]]
# A duplicate GS06: x12-5010.md and pyx12 say AK905 6 ("group control number violates syntax"),
# the X12 code list has 19 ("functional group control number not unique within interchange");
# either is accepted.
case("duplicate-gs06.837", "two groups in one interchange both numbered GS06 1",
     recount(b[:index(b, "GE*") + 1] + group2 + b[index(b, "GE*") + 1:]), 1, 1, 1, ta1="none",
     ak9=["A", "R"], ak905=["6|19"], claims=claims(corrected=1, rejected_999=1))
ic2 = [s.replace("PCN-CLEAN-SINGLE", "PCN-DUP-ISA13") for s in b]
case("duplicate-isa13.837", "two interchanges both numbered ISA13 000000101",
     b + ic2, 1, 1, 1, ta1="R 025", ik5=["A"], ak9=["A"],
     claims=claims(corrected=1, rejected_ta1=1))

# --------------------------------------------------------------------------------------
# Structure: answered by the 999 (IK3/IK4, IK5 R), the claims counted rejected by it.
# --------------------------------------------------------------------------------------
STRUCT = dict(ta1="none", ik5=["R"], ak9=["R"], claims=claims(rejected_999=1))
case("missing-sbr.837", "2000B has no SBR (required)", recount(remove(base(), "SBR*")),
     1, 1, 1, ik3=["SBR*3"], **STRUCT)
case("missing-dtp472.837", "the first service line has no DTP*472 (required)",
     recount(remove(base(), "DTP*472")), 1, 1, 1, ik3=["DTP*3"], **STRUCT)
case("missing-n4-2010aa.837", "the billing provider (2010AA) has no N4 (required)",
     recount(remove(base(), "N4*")), 1, 1, 1, ik3=["N4*3"], **STRUCT)
case("clm-without-subscriber-hl.837", "no subscriber HL: the SBR and CLM follow the 2000A loop",
     recount(remove(base(), "HL*2*")), 1, 1, 1, **STRUCT)
case("bad-hl-level-code.837", "subscriber HL03 is 99, not a level code",
     replace(base(), "HL*2*", "HL*2*1*99*0"), 1, 1, 1, ik4=["3*7"], **STRUCT)
case("hl-self-parent.837", "subscriber HL02 names itself as parent",
     replace(base(), "HL*2*", "HL*2*2*22*0"), 1, 1, 1, **STRUCT)
# A cycle: subscriber HL 2 names patient HL 3 as parent, and HL 3 names HL 2.
cyc = replace(base(), "HL*2*", "HL*2*3*22*1")
cyc = replace(cyc, "SBR*", "SBR*P**SYNGRP001******CI")
cyc = insert_after(cyc, "NM1*PR*", ["HL*3*2*23*0", "PAT*19",
                                    "NM1*QC*1*TESTPATIENT*JOEY",
                                    "N3*10 SYNTHETIC STREET", "N4*TESTVILLE*OH*43215",
                                    "DMG*D8*20100101*M"])
case("hl-cycle.837", "subscriber HL 2 has parent 3, patient HL 3 has parent 2 (a cycle)",
     recount(cyc), 1, 1, 1, **STRUCT)
# A forward parent: the subscriber names billing provider HL 3, which comes later.
fwd = replace(base(), "HL*2*", "HL*2*3*22*0")
se = index(fwd, "SE*")
b_hl1, b_hl2 = index(base(), "HL*1*"), index(base(), "HL*2*")
second_billing = ["HL*3**20*1"] + base()[b_hl1 + 1:b_hl2] + ["HL*4*3*22*0"] + [
    s.replace("PCN-CLEAN-SINGLE", "PCN-FORWARD") for s in base()[b_hl2 + 1:index(base(), "SE*")]]
fwd = recount(fwd[:se] + second_billing + fwd[se:])
case("hl-forward-parent.837", "subscriber HL 2 names HL 3 as parent, which comes later",
     fwd, 1, 1, 1, ta1="none", ik5=["R"], ak9=["R"], claims=claims(rejected_999=2))
# 51 service lines (the 2400 loop repeats at most 50 times).
b = base()
lx1 = index(b, "LX*1")
head = b[:lx1]
lines = []
for n in range(1, 52):
    lines += [f"LX*{n}", "SV1*HC:97110:GP*10*UN*1***1", "DTP*472*D8*20260108",
              f"REF*6R*PCN-51-LINES-{n}"]
head = replace(head, "CLM*", "CLM*PCN-51-LINES*510***11:B:1*Y*A*Y*Y")
case("lines-51.837", "a claim with 51 service lines (2400 repeats at most 50 times)",
     recount(head + lines + b[index(b, "SE*"):]), 1, 1, 1, ik3=["LX*4"], **STRUCT)
dx13 = "HI*ABK:M5416*" + "*".join("ABF:" + c for c in [
    "M62830", "M5450", "M5441", "M5442", "M5116", "M5117", "M4726", "M4727", "M5412",
    "M5413", "M5414", "M5415"])
assert dx13.count("AB") == 13
case("dx-13.837", "an HI with 13 diagnosis codes (at most 12)", replace(base(), "HI*", dx13),
     1, 1, 1, ik4=["13*3"], **STRUCT)
# A pointer that names no HI position is a claim edit (277CA A7:477), whether it is 5 on a claim
# with 2 diagnoses or 0 and 13, outside the 1-12 the TR3 allows (pyx12 answers those two in the
# 999 as "not a valid code for Diagnosis Code Pointer"; see the choice below).
case("dx-pointer-5.837", "SV107 diagnosis pointer 5 (the claim has 2 diagnoses)",
     replace(base(), "SV1*HC:97110", "SV1*HC:97110:GP*90*UN*2***5"), 0, 1, 1, ta1="none",
     ik5=["A"], ak9=["A"], stc=["A7:477"], rules=["DX-POINTER"],
     claims=claims(rejected_277ca=1), rejected_pcns=["PCN-CLEAN-SINGLE"])
for file, what, pointer in [
    ("dx-pointer-0.837", "SV107 diagnosis pointer 0 (the TR3 allows 1-12)", "0"),
    ("dx-pointer-13.837", "SV107 diagnosis pointer 13 (the TR3 allows 1-12)", "13"),
]:
    # Product policy (docs/rule-catalog.md, DX-POINTER): a pointer that names no HI position
    # rejects its claim in the 277CA (A7:477), not the whole set in the 999. pyx12 answers these
    # in the 999; a clearinghouse loses only the one claim this way.
    case(file, what, replace(base(), "SV1*HC:97110", f"SV1*HC:97110:GP*90*UN*2***{pointer}"),
         0, 1, 1, ta1="none", ik5=["A"], ak9=["A"], stc=["A7:477"], rules=["DX-POINTER"],
         claims=claims(rejected_277ca=1), rejected_pcns=["PCN-CLEAN-SINGLE"])
for file, what, units in [("units-0.837", "SV104 units 0", "0"),
                          ("units-negative.837", "SV104 units -1", "-1")]:
    case(file, what, replace(base(), "SV1*HC:97110", f"SV1*HC:97110:GP*90*UN*{units}***1"),
         0, 1, 1, ta1="none", ik5=["A"], ak9=["A"], stc=["A7:476"], rules=["UNITS-POSITIVE"],
         claims=claims(rejected_277ca=1), rejected_pcns=["PCN-CLEAN-SINGLE"])
for file, what, units in [("units-abc.837", "SV104 units 'abc' (not a number)", "abc"),
                          ("units-1e10.837", "SV104 units '1e10' (exponent: not an X12 R value)",
                           "1e10")]:
    case(file, what, replace(base(), "SV1*HC:97110", f"SV1*HC:97110:GP*90*UN*{units}***1"),
         1, 1, 1, ik3=["SV1*8"], ik4=["4*6"], rules=["X12-ELEMENT"], **STRUCT)
case("sv101-bad-qualifier.837", "SV101-1 product/service id qualifier XX (only HC, ER, IV, WK)",
     replace(base(), "SV1*HC:97110", "SV1*XX:97110:GP*90*UN*2***1"), 1, 1, 1, ik3=["SV1*8"],
     ik4=["1:1*235*7"], rules=["X12-ELEMENT"], **STRUCT)
case("date-20250230.837", "service date 20250230 (no such day)",
     replace(base(), "DTP*472", "DTP*472*D8*20250230"), 1, 1, 1, ik3=["DTP*8"], ik4=["3*8"],
     rules=["X12-ELEMENT"], **STRUCT)
case("date-rd8-reversed.837", "service date range RD8 20260108-20260101 (end before start)",
     replace(base(), "DTP*472", "DTP*472*RD8*20260108-20260101"), 0, 1, 1, ta1="none",
     ik5=["A"], ak9=["A"], stc=["A7:187"], rules=["DATE-VALID"],
     claims=claims(rejected_277ca=1), rejected_pcns=["PCN-CLEAN-SINGLE"])
case("element-too-long.837", "CLM01 of 39 characters (at most 38)",
     render(replace(base(), "CLM*", "CLM*PCN-" + "X" * 35 + "*142.5***11:B:1*Y*A*Y*Y")),
     1, 1, 1, ik3=["CLM*8"], ik4=["1*5"], rules=["X12-ELEMENT"], **STRUCT)
case("nm103-too-long.837", "billing provider NM103 of 61 characters (at most 60)",
     replace(base(), "NM1*85*", "NM1*85*2*" + "SYNTHETIC CLINIC " * 3 + "X" * 10 + "*****XX*1234567893"),
     1, 1, 1, ik3=["NM1*8"], ik4=["3*5"], rules=["X12-ELEMENT"], **STRUCT)


def check_cases():
    names = [c["file"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate file names"
    for c in CASES:
        c["clms"] = count_clm(c["data"])
        if c["file"] == "element-too-long.837":
            clm = [s for s in c["data"].decode().split("~") if "CLM*" in s][0]
            assert len(clm.split("*")[1]) == 39, clm
        if c["file"] == "nm103-too-long.837":
            nm = [s for s in c["data"].decode().split("~") if "NM1*85" in s][0]
            assert len(nm.split("*")[3]) == 61, nm
    assert len(CASES) >= 60, len(CASES)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


ORDER = ["file", "what", "parse", "check", "scrub", "clms", "error", "ta1", "ta1_not", "ik5",
         "ik502", "ik3", "ik4", "ak9", "ak905", "stc", "rules", "warnings", "rejected_pcns",
         "claims"]


def write():
    check_cases()
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".837"):
            os.remove(os.path.join(OUT, old))
    out = ["# The bad-input corpus: one defect per file, generated by tools/make_bad_corpus.py",
           "# (do not edit by hand; see that script for the meaning of each key).",
           "# Replayed by tests/bad_corpus.rs.", ""]
    for c in CASES:
        with open(os.path.join(OUT, c["file"]), "wb") as f:
            f.write(c["data"])
        out.append("[[case]]")
        for k in ORDER:
            if k in c:
                out.append(f"{k} = {toml_value(c[k])}")
        unknown = set(c) - set(ORDER) - {"data"}
        assert not unknown, unknown
        out.append("")
    with open(os.path.join(OUT, "manifest.toml"), "w") as f:
        f.write("\n".join(out))
    print(f"wrote {len(CASES)} files and manifest.toml to {OUT}")


if __name__ == "__main__":
    write()
