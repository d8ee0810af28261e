//! Reader throughput on a generated ~30 MB 837P file: framing + grammar + claim build,
//! next to a memchr count of segment terminators over the same bytes as the baseline.
//!
//! `segments` frames only; `claims` is the whole reader (one thread).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scrub837::read::{ClaimReader, Event};
use scrub837::x12::SegmentReader;

/// About 30 MB: the generator writes roughly 590 bytes a claim.
const CLAIMS: u64 = 51_000;

fn generated() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32 << 20);
    scrub837::generate::write(&mut bytes, CLAIMS).expect("writing to memory cannot fail");
    bytes
}

fn reader(c: &mut Criterion) {
    let bytes = generated();
    let mut group = c.benchmark_group("reader");
    // Decimal bytes: criterion then reports MB/s (10^6), the unit the targets are set in.
    group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
    group.sample_size(10);
    group.bench_with_input(
        BenchmarkId::new("memchr_terminators", bytes.len()),
        &bytes,
        |b, bytes| b.iter(|| memchr::memchr_iter(b'~', bytes).count()),
    );
    group.bench_with_input(
        BenchmarkId::new("segments", bytes.len()),
        &bytes,
        |b, bytes| {
            b.iter(|| {
                let mut r = SegmentReader::new(bytes.as_slice());
                let mut n = 0u64;
                while let Some(seg) = r.next_segment().expect("generated file is valid") {
                    n += seg.element_count() as u64;
                }
                n
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("claims", bytes.len()),
        &bytes,
        |b, bytes| {
            b.iter(|| {
                let mut r = ClaimReader::new(bytes.as_slice());
                let mut claims = 0u64;
                while let Some(event) = r.next_event().expect("generated file is valid") {
                    if let Event::Claim(_) = event {
                        claims += 1;
                    }
                }
                assert_eq!(claims, CLAIMS);
                claims
            })
        },
    );
    group.finish();
}

criterion_group!(benches, reader);
criterion_main!(benches);
