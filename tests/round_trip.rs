//! Library-level byte fidelity: the segment reader's `raw()` slices rebuild every sample
//! exactly (also when the source hands out 1-7 bytes at a time), and every claim's `raw` is
//! the exact slice of the file from its CLM to its end.

mod common;

use std::io::Read;

use common::*;
use scrub837::model::RawClaim;
use scrub837::read::{ClaimReader, Event};
use scrub837::x12::SegmentReader;

/// Concatenates `raw()` of every segment, checking positions against the independent splitter.
fn rebuild<R: Read>(source: R, bytes: &[u8], what: &str) -> Vec<u8> {
    let independent = split_x12(bytes);
    let mut reader = SegmentReader::new(source);
    let mut out = Vec::with_capacity(bytes.len());
    let mut n = 0;
    let (mut line, mut counted) = (1u64, 0usize);
    while let Some(seg) = reader
        .next_segment()
        .unwrap_or_else(|e| panic!("{what}: read error: {e}"))
    {
        let at = out.len();
        out.extend_from_slice(seg.raw());
        let mine = independent
            .get(n)
            .unwrap_or_else(|| panic!("{what}: more segments than the independent split"));
        n += 1;
        let pos = seg.position();
        assert_eq!(pos.segment, n as u64, "{what}: segment number");
        assert_eq!(
            pos.byte, mine.start as u64,
            "{what}: segment {n} byte offset"
        );
        assert_eq!(
            pos.byte,
            (at + seg.body_start()) as u64,
            "{what}: segment {n}: position.byte = where the body starts in raw"
        );
        line += bytes[counted..mine.start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted = mine.start;
        assert_eq!(pos.line, line, "{what}: segment {n} line");
        assert_eq!(seg.id_str(), mine.id(), "{what}: segment {n} id");
        assert_eq!(
            seg.element_count() + 1,
            mine.elements.len(),
            "{what}: segment {n} ({}) element count",
            mine.id()
        );
    }
    assert_eq!(n, independent.len(), "{what}: segment count");
    assert_eq!(
        reader.offset(),
        bytes.len() as u64,
        "{what}: offset at the end"
    );
    out
}

#[test]
fn raw_segments_rebuild_every_readable_sample_exactly() {
    let files = readable_files();
    assert!(files.len() >= 30);
    for path in files {
        let what = path.display().to_string();
        let bytes = read(&path);
        let rebuilt = rebuild(bytes.as_slice(), &bytes, &what);
        assert!(
            rebuilt == bytes,
            "{what}: concatenated raw() differs from the file"
        );
    }
}

#[test]
fn raw_segments_rebuild_exactly_when_the_source_trickles_1_to_7_bytes() {
    // All readable samples, including the two ~350 KB ims files.
    for path in readable_files() {
        let what = format!("{} (1-7 byte reads)", path.display());
        let bytes = read(&path);
        let rebuilt = rebuild(Trickle::new(&bytes), &bytes, &what);
        assert!(
            rebuilt == bytes,
            "{what}: concatenated raw() differs from the file"
        );
    }
}

#[test]
fn raw_segments_rebuild_exactly_when_reads_start_with_at_least_four_bytes() {
    // Same as the trickle test except the very first read returns the whole ISA, so that
    // the rest of the framing is exercised even while a short first read is mishandled.
    for path in readable_files() {
        let what = format!("{} (ISA first, then 1-7 byte reads)", path.display());
        let bytes = read(&path);
        let source = bytes[..106].chain(Trickle::new(&bytes[106..]));
        let rebuilt = rebuild(source, &bytes, &what);
        assert!(
            rebuilt == bytes,
            "{what}: concatenated raw() differs from the file"
        );
    }
}

/// Every claim from the claim reader, in order.
fn claims_of<R: Read>(source: R, what: &str) -> Vec<RawClaim> {
    let mut reader = ClaimReader::new(source);
    let mut claims = Vec::new();
    while let Some(event) = reader
        .next_event()
        .unwrap_or_else(|e| panic!("{what}: read error: {e}"))
    {
        if let Event::Claim(c) = event {
            claims.push(c);
        }
    }
    claims
}

/// Segment ids that end a 2300 claim in an 837P.
const ENDS_A_CLAIM: &[&str] = &["CLM", "HL", "SE", "GE", "IEA", "ST", "GS", "ISA"];

#[test]
fn claim_raw_is_the_exact_slice_of_the_file_from_clm_to_its_end() {
    for path in readable_files() {
        let what = path.display().to_string();
        let bytes = read(&path);
        let segs = split_x12(&bytes);
        let e = expected(&bytes);
        let claims = claims_of(bytes.as_slice(), &what);
        assert_eq!(claims.len() as u64, e.claims, "{what}: claims");
        // (The whole ISA comes in the first read; see the trickle test for short first reads.)
        let trickled = claims_of(bytes[..106].chain(Trickle::new(&bytes[106..])), &what);
        assert_eq!(
            trickled.len(),
            claims.len(),
            "{what}: claims with 1-7 byte reads"
        );

        for (i, (claim, again)) in claims.iter().zip(&trickled).enumerate() {
            let table = &claim.segments;
            let raw = table.raw();
            let stored = table.stored();
            assert_eq!(claim.ordinal, (i + 1) as u64, "{what}: ordinal");
            assert!(!stored.is_empty(), "{what}: claim {} has segments", i + 1);
            let clm01 = String::from_utf8_lossy(table.get(0).element(1)).into_owned();
            assert_eq!(clm01, e.claim_ids[i].0, "{what}: claim {} CLM01", i + 1);
            let what = format!("{what}: claim {} ({clm01})", i + 1);
            let first = &stored[0];
            assert_eq!(first.start, 0, "{what}: first segment starts raw");
            let clm_at = first.position.byte as usize;
            let start = clm_at - first.body_start as usize;
            let end = start + raw.len();
            assert!(end <= bytes.len(), "{what}: raw runs past the file");
            assert!(
                raw == &bytes[start..end],
                "{what}: raw is not the file's bytes {start}..{end}"
            );
            assert!(
                bytes[clm_at..].starts_with(b"CLM"),
                "{what}: starts at a CLM"
            );
            assert!(
                bytes[start..clm_at].iter().all(|b| b.is_ascii_whitespace()),
                "{what}: only white space before the CLM id in raw"
            );
            assert!(
                again.segments.raw() == raw,
                "{what}: same raw with 1-7 byte reads"
            );
            assert_eq!(
                claim.line_count() as u64,
                e.claim_ids[i].1,
                "{what}: line count"
            );

            // Segments tile raw, and each one sits where the file has it.
            let mut expect_start = 0u32;
            for (k, s) in stored.iter().enumerate() {
                assert_eq!(s.start, expect_start, "{what}: segment {k} start");
                assert!(s.end > s.start && s.body_start <= s.body_end);
                assert_eq!(
                    start as u64 + (s.start + s.body_start) as u64,
                    s.position.byte,
                    "{what}: segment {k} body is at its position"
                );
                expect_start = s.end;
            }
            assert_eq!(
                expect_start as usize,
                raw.len(),
                "{what}: segments cover raw"
            );

            // Independently: the claim runs from its CLM up to the next CLM/HL/SE/envelope.
            let clm = segs
                .iter()
                .position(|s| s.start == clm_at)
                .unwrap_or_else(|| panic!("{what}: no independent segment at byte {clm_at}"));
            assert_eq!(segs[clm].id(), "CLM");
            let next = segs[clm + 1..]
                .iter()
                .find(|s| ENDS_A_CLAIM.contains(&s.id()))
                .expect("something follows a claim");
            let mine: Vec<&RawSeg> = segs[clm..]
                .iter()
                .take_while(|s| s.start < next.start)
                .collect();
            assert_eq!(stored.len(), mine.len(), "{what}: segment count");
            for ((seg, s), m) in table.iter().zip(&mine) {
                assert_eq!(
                    s.position.byte, m.start as u64,
                    "{what}: segment {}",
                    m.number
                );
                assert_eq!(
                    s.position.segment, m.number as u64,
                    "{what}: segment number"
                );
                assert_eq!(seg.id_str(), m.id(), "{what}: segment {} id", m.number);
            }
            // raw ends after the last segment's terminator and the line break after it.
            let last = mine.last().unwrap();
            let mut raw_end = last.body_end + 1;
            while raw_end < bytes.len() && matches!(bytes[raw_end], b'\r' | b'\n') {
                raw_end += 1;
            }
            assert_eq!(
                end,
                raw_end,
                "{what}: raw ends after {} (segment {})",
                last.id(),
                last.number
            );
        }
    }
}
