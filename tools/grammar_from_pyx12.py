#!/usr/bin/env python3
"""Generate grammars/837p-005010x222.toml from pyx12's 837P (005010X222A1) map.

Usage (from the repository root):

    /work/pyx12-venv/bin/python tools/grammar_from_pyx12.py            # writes the default output
    python3 tools/grammar_from_pyx12.py --map PATH/837.5010.X222.A1.xml --out grammars/837p-005010x222.toml
    python3 tools/grammar_from_pyx12.py --check                        # exit 1 if the file on disk is stale

Only the Python standard library is needed to read a map given with --map; without --map the
script imports pyx12 to find its bundled map (and to record pyx12's version in the output).

What it does:
  * walks the map's loop tree below ST_LOOP, turning it into a flat, document-ordered list of
    loops in the shape read by src/grammar/model.rs (serde contract: see that file);
  * folds the pseudo-loop HEADER out of ST (from ST_LOOP) and BHT (from pyx12's HEADER wrapper);
    SE is left to the envelope layer; pyx12's DETAIL/FOOTER wrappers are dropped;
  * writes a loop that pyx12 repeats under several parents (2300 and its whole subtree appear
    under both 2000B and 2000C) once, with every parent listed, after checking that the copies
    have the same segments, codes and limits (usage may differ: the weaker one, "S", is kept);
  * skips segments whose usage is "N" (not used);
  * for each segment entry decides whether it carries a qualifier test (`element`, `values`):
      - always for the tags in KEYED (NM1, HL, REF, DTP, AMT, PER) at the position given there,
      - otherwise only when the same tag occurs more than once in a loop, at the first simple
        ID-type element where every same-tag entry has a fixed code list and the lists are
        pairwise disjoint (CRC01, NTE01, PWK01, QTY01, AMT01 ...). Where no such element exists
        (HI: its qualifier sits inside the composite HI01) the entries are told apart only by
        their order, and the generator says so in a comment;
  * gives every segment entry its `position` (pyx12's <pos>, the guide's position number): entries
    of one loop with the same tag at one position may come in any order among themselves;
  * gives every segment entry its `elements`: one inline table per element position, in order
    (usage from the map; type and length limits from pyx12's dataele.xml, which must sit next to
    the map; inline code lists of ID elements; see the header of the generated file).
"""

from __future__ import annotations

import argparse
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

GUIDE = "005010X222A1"
ACCEPTS = ["005010X222A1", "005010X222A2"]
MAP_NAME = "837.5010.X222.A1.xml"
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grammars", "837p-005010x222.toml")

# Segment tags whose entries are always keyed by a qualifier element (1-based position).
KEYED = {"NM1": 1, "HL": 3, "REF": 1, "DTP": 1, "AMT": 1, "PER": 1}


# Inline code lists longer than this are left out of the grammar (none is, today: the longest,
# PWK01's report type codes, has 61 values).
MAX_CODES = 64


@dataclass
class DataEle:
    data_type: str
    min_len: int
    max_len: int


@dataclass
class Element:
    pos: int  # 1-based element position in the segment (or component position in a composite)
    data_ele: str
    data_type: str
    usage: str
    codes: list[str] | None  # None: no fixed list (free text or an external code source)
    composite: bool = False
    external: str | None = None  # an external code list we ship (states, country)
    xid: str = ""
    name: str = ""
    min_len: int = 0
    max_len: int = 0
    repeat: int = 1  # 0 = unbounded
    components: list["Element"] = field(default_factory=list)
    format: int | None = None  # sibling position holding the date/time format qualifier (1250)


@dataclass
class Seg:
    id: str
    name: str
    usage: str
    max_use: int  # 0 = unbounded
    elements: list[Element]
    position: int  # the segment's position number in the guide's table (pyx12's <pos>)
    element: int | None = None
    values: list[str] = field(default_factory=list)


@dataclass
class Loop:
    id: str
    name: str
    usage: str
    repeat: int
    segments: list[Seg]
    children: list["Loop"]
    parents: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_repeat(text: str) -> int:
    text = (text or "").strip()
    if text == ">1":
        return 0
    return int(text)


def load_types(dataele_path: str) -> dict[str, DataEle]:
    """pyx12's data element dictionary: type and length limits by data element number."""
    types: dict[str, DataEle] = {}
    for de in ET.parse(dataele_path).getroot().iter("data_ele"):
        types[de.get("ele_num")] = DataEle(de.get("data_type"), int(de.get("min_len")), int(de.get("max_len")))
    return types


def read_element(node: ET.Element, types: dict[str, DataEle], where: str) -> Element:
    """One <element> or <composite> of a segment (or an <element> of a composite)."""
    data_ele = (node.findtext("data_ele") or "").strip()
    vc = node.find("valid_codes")
    codes = None
    external = vc.get("external") if vc is not None else None
    if external not in EXTERNAL_LISTS:
        external = None
    if vc is not None and vc.get("external") is None:
        found = [c.text.strip() for c in vc.findall("code") if c.text]
        codes = found or None
    composite = node.tag == "composite"
    usage = (node.findtext("usage") or "").strip()
    if usage not in ("R", "S", "N"):
        raise SystemExit(f"{where} {node.get('xid')}: unexpected usage {usage!r}")
    el = Element(
        pos=int(node.findtext("seq")),
        data_ele=data_ele,
        data_type="composite" if composite else "?",
        usage=usage,
        codes=codes,
        composite=composite,
        xid=node.get("xid") or "",
        name=(node.findtext("name") or "").strip(),
        repeat=parse_repeat(node.findtext("repeat") or "1"),
        external=external,
    )
    if composite:
        el.components = [read_element(c, types, where) for c in node if c.tag == "element"]
        check_positions(el.components, f"{where} {el.xid}")
        link_formats(el.components)
    else:
        de = types.get(data_ele)
        if de is None:
            raise SystemExit(f"{where} {el.xid}: data element {data_ele} is not in dataele.xml")
        el.data_type, el.min_len, el.max_len = de.data_type, de.min_len, de.max_len
    return el


def check_positions(elements: list[Element], where: str) -> None:
    got = [e.pos for e in elements]
    if got != list(range(1, len(got) + 1)):
        raise SystemExit(f"{where}: element positions {got} are not 1, 2, 3, ...")


def link_formats(elements: list[Element]) -> None:
    """Data element 1251 (date time period) takes its format from the 1250 qualifier before it."""
    for i, e in enumerate(elements):
        if e.data_ele == "1251" and i > 0 and elements[i - 1].data_ele == "1250":
            e.format = elements[i - 1].pos


def read_segment(node: ET.Element, types: dict[str, DataEle]) -> Seg:
    where = f"segment {node.get('xid')}"
    elements = [read_element(c, types, where) for c in node if c.tag in ("element", "composite")]
    check_positions(elements, where)
    link_formats(elements)
    return Seg(
        id=node.get("xid"),
        name=(node.findtext("name") or "").strip(),
        usage=(node.findtext("usage") or "").strip(),
        max_use=parse_repeat(node.findtext("max_use")),
        elements=elements,
        position=int((node.findtext("pos") or "").strip()),
    )


def read_loop(node: ET.Element, types: dict[str, DataEle]) -> Loop:
    segs, kids = [], []
    for child in node:
        if child.tag == "segment":
            seg = read_segment(child, types)
            if seg.usage != "N":
                segs.append(seg)
        elif child.tag == "loop":
            if (child.findtext("usage") or "").strip() == "N":
                continue
            kids.append(read_loop(child, types))
    return Loop(
        id=node.get("xid"),
        name=(node.findtext("name") or "").strip(),
        usage=(node.findtext("usage") or "").strip(),
        repeat=parse_repeat(node.findtext("repeat")),
        segments=segs,
        children=kids,
    )


def element_at(seg: Seg, pos: int) -> Element | None:
    for e in seg.elements:
        if e.pos == pos:
            return e
    return None


def assign_qualifiers(loop: Loop, warnings: list[str], auto: set[str]) -> None:
    by_tag: dict[str, list[Seg]] = {}
    for s in loop.segments:
        by_tag.setdefault(s.id, []).append(s)
    for tag, entries in by_tag.items():
        if tag in KEYED:
            pos = KEYED[tag]
            for s in entries:
                e = element_at(s, pos)
                if e is None or not e.codes:
                    warnings.append(f"{loop.id} {tag}{pos:02d}: no fixed code list; entry left unkeyed")
                    continue
                s.element, s.values = pos, list(e.codes)
        elif len(entries) > 1:
            positions = sorted({e.pos for s in entries for e in s.elements})
            chosen = None
            for pos in positions:
                els = [element_at(s, pos) for s in entries]
                if any(e is None or e.composite or e.data_type != "ID" or not e.codes for e in els):
                    continue
                sets = [set(e.codes) for e in els]
                if all(sets[i].isdisjoint(sets[j]) for i in range(len(sets)) for j in range(i + 1, len(sets))):
                    chosen = pos
                    break
            if chosen is None:
                loop.notes.append(
                    f"the {len(entries)} {tag} entries have no simple qualifier element telling them apart "
                    f"(for HI it is the first component of the composite HI01); they are matched by order"
                )
                warnings.append(f"{loop.id}: {tag} entries not keyed (no disjoint simple qualifier)")
                continue
            auto.add(f"{tag}{chosen:02d}")
            for s in entries:
                s.element, s.values = chosen, list(element_at(s, chosen).codes)
        # Warn about overlapping code lists among keyed same-tag entries.
        keyed = [s for s in entries if s.element is not None]
        for i in range(len(keyed)):
            for j in range(i + 1, len(keyed)):
                common = set(keyed[i].values) & set(keyed[j].values)
                if common:
                    warnings.append(
                        f"{loop.id}: {tag} entries '{keyed[i].name}' and '{keyed[j].name}' share codes {sorted(common)}"
                    )
    for c in loop.children:
        assign_qualifiers(c, warnings, auto)


def signature(loop: Loop):
    """Structure of a loop subtree, for comparing pyx12's repeated copies (usage excluded at the top)."""
    return (
        loop.id,
        loop.name,
        loop.repeat,
        tuple(
            (s.id, s.name, s.usage, s.max_use, s.position, s.element, tuple(s.values), tuple(render_elements(s.elements, "")))
            for s in loop.segments
        ),
        tuple(signature(c) + (c.usage,) for c in loop.children),
    )


def flatten(root: Loop) -> list[Loop]:
    """Flatten into document order with each loop once, every loop after all of its parents."""
    seen: dict[str, Loop] = {}
    order: list[str] = []
    deferred: dict[str, list[str]] = {}  # loop id -> parents still to be emitted

    def visit(loop: Loop, parent: str | None):
        if loop.id in seen:
            first = seen[loop.id]
            if signature(first) != signature(loop):
                raise SystemExit(f"loop {loop.id} appears twice in the map with different structure")
            if first.usage != loop.usage:
                first.notes.append(
                    f"pyx12 gives usage {first.usage} under {first.parents[0]} and {loop.usage} under {parent}; "
                    f"kept S (required-ness depends on HL04 / SBR02, a semantic rule)"
                )
                first.usage = "S"
            first.parents.append(parent)
            return
        loop.parents = [parent] if parent else []
        seen[loop.id] = loop
        order.append(loop.id)
        for c in loop.children:
            visit(c, loop.id)

    visit(root, None)
    # Move each multi-parent loop (with its subtree) after the last of its parents.
    def subtree_ids(lid: str) -> list[str]:
        ids = [lid]
        for c in seen[lid].children:
            if seen[c.id].parents[0] == lid:
                ids.extend(subtree_ids(c.id))
        return ids

    for lid in list(order):
        loop = seen[lid]
        if len(loop.parents) < 2:
            continue
        block = subtree_ids(lid)
        rest = [x for x in order if x not in block]
        last_parent = max(rest.index(p) for p in loop.parents)
        # insert after the last parent's own subtree (its descendants that are not in block)
        insert_at = last_parent + 1
        while insert_at < len(rest) and is_descendant(seen, rest[insert_at], rest[last_parent]):
            insert_at += 1
        order = rest[:insert_at] + block + rest[insert_at:]
        if len(loop.parents) > 1:
            loop.notes.append(
                "written once for all of its parents; pyx12 repeats this subtree under each of "
                + " and ".join(loop.parents)
            )
    return [seen[x] for x in order]


def is_descendant(seen: dict[str, Loop], lid: str, ancestor: str) -> bool:
    stack = [lid]
    while stack:
        cur = stack.pop()
        for p in seen[cur].parents:
            if p == ancestor:
                return True
            stack.append(p)
    return False


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(xs: list[str]) -> str:
    return "[" + ", ".join(toml_str(x) for x in xs) + "]"


def render(loops: list[Loop], auto: set[str], pyx12_version: str, map_path: str) -> str:
    out = []
    w = out.append
    w("# scrub837 loop grammar for the X12 837P, guide 005010X222A1 (Health Care Claim: Professional).")
    w("#")
    w(f"# GENERATED FILE: do not edit by hand. Source: pyx12 {pyx12_version}, map file {os.path.basename(map_path)}.")
    w("# Regenerate from the repository root with:")
    w("#     /work/pyx12-venv/bin/python tools/grammar_from_pyx12.py")
    w("# (any Python 3.10+ with pyx12 installed, or pass --map PATH to the map XML).")
    w("# `--check` exits non-zero when this file differs from what the generator would write.")
    w("#")
    w("# 005010X222A2 is accepted with this same structure: the A2 errata changes no loop,")
    w("# segment, repeat or max use that this grammar records.")
    w("#")
    w("# Shape (read by src/grammar/model.rs):")
    w("#   [[loop]]   id, name, parents, usage (\"R\"/\"S\"), repeat (max instances per parent")
    w("#              instance; 0 = unbounded, the guide's \">1\"), trigger, segments")
    w("#   trigger    the segment that opens the loop; `element` (1-based) and `values` give the")
    w("#              qualifier that must match. A trigger with no element/values (CLM, LX, SBR, ...)")
    w("#              is opened by the segment tag alone.")
    w("#   segments   in the map's order; `element`/`values` are given when the entry is keyed by a")
    w("#              qualifier: always for NM1 (NM101), HL (HL03), REF/DTP/AMT/PER (01), and for any")
    w("#              other tag that occurs more than once in one loop, at the first element whose")
    w(f"#              code lists tell the entries apart ({', '.join(sorted(auto))}).")
    w("#              Entries of the same tag with no such element (HI) are told apart by order only.")
    w("#              Segments pyx12 marks \"N\" (not used) are left out. SE is left to the envelope layer.")
    w("#   position   the entry's position number in the guide's table (pyx12's <pos>). Entries of a")
    w("#              loop with the same segment id at the same position (the 2300 REFs at 1800, the")
    w("#              2400 DTPs at 4550) share that position: they may come in any order among")
    w("#              themselves, each with its own usage and max_use; listing order inside a")
    w("#              position is not a syntax rule. Sibling loops whose triggers share a position")
    w("#              (2310A-F NM1 at 2500, 2420A-H NM1 at 5000) may likewise come in any order.")
    w("#              A loop's position is its trigger's (pyx12's loop <pos> is not used: it")
    w("#              differs from the trigger's for 2330D-G and 2420G-H).")
    w("#   elements   every element position of the segment entry, in order (the X12-ELEMENT rule):")
    w("#                usage   \"R\", \"S\" or \"N\" (not used: any value is an error); default \"S\".")
    w("#                        A \"N\" element gives nothing else.")
    w("#                ref     the X12 data element reference number (the 999's IK402), when")
    w("#                        numeric (composites such as C023 have none)")
    w("#                kind    AN, ID, R, N0-N9, DT, TM, B (pyx12's dataele.xml) or composite")
    w("#                min     minimum length (default 1); max  maximum length. For R and Nn the")
    w("#                        length counts digits only (not a sign or decimal point).")
    w(f"#                codes   the values an ID element may hold, when the map lists them inline")
    w(f"#                        (at most {MAX_CODES}); absent when any code is allowed or the list is")
    w("#                        external (states, countries, place of service, ...).")
    w("#                repeat  maximum repetitions (default 1; 0 = unbounded).")
    w("#                format  for a date/time period (data element 1251): the position of the")
    w("#                        sibling element or component holding its format qualifier (D8, RD8).")
    w("#                components  for a composite: its components, shaped like elements.")
    w("#              The trailing comment names the element as pyx12's map does.")
    w("#")
    w("# Differences from pyx12's tree, on purpose:")
    w("#   * HEADER is a pseudo-loop holding ST and BHT; 1000A, 1000B and 2000A are its children.")
    w("#   * 2300 (and everything under it) is written once with parents [\"2000B\", \"2000C\"]; pyx12")
    w("#     repeats the identical subtree under each. Because every loop follows all of its parents,")
    w("#     2300 is listed after 2000C/2010CA, so in file order 2000B's children read 2010BA, 2010BB,")
    w("#     2000C, 2300, while in the guide a subscriber's own claims (2300) come before any 2000C.")
    w("#     HL loops are placed by HL02, not by position, so a reader should not rely on that order.")
    w("")
    w("[grammar]")
    w('transaction = "837"')
    w(f"guide = {toml_str(GUIDE)}")
    w(f"accepts = {toml_list(ACCEPTS)}")
    w(f"source = {toml_str(f'pyx12 {pyx12_version} map {os.path.basename(map_path)}')}")
    w("")
    w("# Loops are listed in document order, parents before children. A loop's children are the loops")
    w("# naming it in `parents`, in the order they appear in this file.")
    for loop in loops:
        w("")
        w("[[loop]]")
        for note in loop.notes:
            w(f"# {note}")
        w(f"id = {toml_str(loop.id)}")
        w(f"name = {toml_str(loop.name)}")
        w(f"parents = {toml_list(loop.parents)}")
        w(f"usage = {toml_str(loop.usage)}")
        w(f"repeat = {loop.repeat}" + ("  # unbounded (>1)" if loop.repeat == 0 else ""))
        if loop.id != "HEADER":
            first = loop.segments[0]
            if first.element is not None:
                w(
                    f"trigger = {{ segment = {toml_str(first.id)}, element = {first.element}, "
                    f"values = {toml_list(first.values)} }}"
                )
            else:
                w(f"trigger = {{ segment = {toml_str(first.id)} }}")
        w("segments = [")
        for s in loop.segments:
            entry = (
                f"{{ id = {toml_str(s.id)}, usage = {toml_str(s.usage)}, max_use = {s.max_use}, "
                f"position = {s.position}"
            )
            if s.element is not None:
                entry += f", element = {s.element}, values = {toml_list(s.values)}"
            w(f"  {entry}, elements = [  # {s.name}")
            out.extend(render_elements(s.elements, "    "))
            w("  ] },")
        w("]")
    return "\n".join(out) + "\n"


KINDS = {"AN", "ID", "R", "DT", "TM", "B"} | {f"N{i}" for i in range(10)}

# External code lists the project ships in data/x12-codes/ (exported from pyx12's codes.xml);
# an ID element naming one gets `external = "<name>"`.
EXTERNAL_LISTS = {"states", "country"}


def element_fields(e: Element) -> list[str]:
    """The inline-table fields of one element, defaults left out (see the file header)."""
    fields = []
    if e.usage != "S":
        fields.append(f"usage = {toml_str(e.usage)}")
    if e.data_ele.isdigit():
        fields.append(f"ref = {int(e.data_ele)}")
    if e.usage == "N":
        return fields  # any value is an error; type and length do not matter
    if e.composite:
        fields.append('kind = "composite"')
    else:
        if e.data_type not in KINDS:
            raise SystemExit(f"{e.xid}: unexpected data type {e.data_type!r}")
        if not 1 <= e.min_len <= e.max_len:
            raise SystemExit(f"{e.xid}: bad length {e.min_len}-{e.max_len}")
        fields.append(f"kind = {toml_str(e.data_type)}")
        if e.min_len != 1:
            fields.append(f"min = {e.min_len}")
        fields.append(f"max = {e.max_len}")
        if e.data_type == "ID" and e.codes and len(e.codes) <= MAX_CODES:
            fields.append(f"codes = {toml_list(e.codes)}")
        if e.data_type == "ID" and e.external:
            fields.append(f"external = {toml_str(e.external)}")
    if e.repeat != 1:
        fields.append(f"repeat = {e.repeat}")
    if e.format is not None:
        fields.append(f"format = {e.format}")
    return fields


def render_elements(elements: list[Element], indent: str) -> list[str]:
    """One line per element (a composite opens a nested `components` list)."""
    lines = []
    for e in elements:
        fields = element_fields(e)
        comment = f"# {e.xid} {e.name}".rstrip()
        if e.composite and e.usage != "N":
            lines.append(f"{indent}{{ {', '.join(fields)}, components = [  {comment}")
            lines.extend(render_elements(e.components, indent + "  "))
            lines.append(f"{indent}] }},")
        else:
            lines.append(f"{indent}{{ {', '.join(fields)} }},  {comment}")
    return lines


def build(map_path: str) -> tuple[list[Loop], list[str], set[str]]:
    root = ET.parse(map_path).getroot()
    types = load_types(os.path.join(os.path.dirname(map_path), "dataele.xml"))
    st_loop = next(l for l in root.iter("loop") if l.get("xid") == "ST_LOOP")

    st_seg = None
    header = Loop("HEADER", "Transaction set header", "R", 1, [], [])
    for child in st_loop:
        if child.tag == "segment" and child.get("xid") == "ST":
            st_seg = read_segment(child, types)
        elif child.tag == "loop":
            wrapper = read_loop(child, types)
            if wrapper.id == "HEADER":
                header.segments.extend(wrapper.segments)  # BHT
                header.children.extend(wrapper.children)  # 1000A, 1000B
            elif wrapper.id == "DETAIL":
                if wrapper.segments:
                    raise SystemExit("unexpected segments directly in DETAIL")
                header.children.extend(wrapper.children)  # 2000A
            # FOOTER is usage N and holds nothing; SE belongs to the envelope layer.
    if st_seg is None:
        raise SystemExit("no ST segment under ST_LOOP")
    header.segments.insert(0, st_seg)

    warnings: list[str] = []
    auto: set[str] = set()
    for c in header.children:
        assign_qualifiers(c, warnings, auto)
    loops = flatten(header)
    for loop in loops:
        if loop.usage not in ("R", "S"):
            raise SystemExit(f"loop {loop.id}: unexpected usage {loop.usage!r}")
        for s in loop.segments:
            if s.usage not in ("R", "S"):
                raise SystemExit(f"loop {loop.id} segment {s.id}: unexpected usage {s.usage!r}")
    return loops, list(dict.fromkeys(warnings)), auto


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--map", help=f"path to pyx12's {MAP_NAME} (default: the installed pyx12's)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output TOML (default: grammars/837p-005010x222.toml)")
    ap.add_argument("--pyx12-version", help="version string to record when --map is used without pyx12")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if --out is out of date")
    args = ap.parse_args()

    version = args.pyx12_version
    map_path = args.map
    if map_path is None or version is None:
        try:
            import pyx12  # type: ignore
        except ImportError:
            if map_path is None:
                ap.error("pyx12 is not importable: pass --map (and --pyx12-version)")
            version = version or "unknown"
        else:
            version = version or pyx12.__version__
            if map_path is None:
                map_path = os.path.join(os.path.dirname(pyx12.__file__), "map", MAP_NAME)

    loops, warnings, auto = build(map_path)
    text = render(loops, auto, version, map_path)
    for msg in warnings:
        print(f"note: {msg}", file=sys.stderr)

    out = os.path.normpath(args.out)
    if args.check:
        current = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
        if current != text:
            print(f"{out} is out of date; rerun tools/grammar_from_pyx12.py", file=sys.stderr)
            return 1
        print(f"{out} is up to date ({len(loops)} loops)")
        return 0
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {out}: {len(loops)} loops, {sum(len(l.segments) for l in loops)} segment entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
