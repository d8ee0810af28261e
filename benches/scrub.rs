//! `scrub` throughput on a generated file: both passes, every rule, and every output written
//! (corrected 837P, 277CA through its spool, 999, report.jsonl) into a temporary directory.
//! Reported twice, as MB/s and as claims/s, each next to two baselines measured in the same
//! run: a memchr count of segment terminators (the floor of any X12 reader) and the reader
//! alone.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scrub837::pipeline::scrub::{ScrubOptions, Scrubber};
use scrub837::read::{ClaimReader, Event};

const CLAIMS: u64 = 20_000;

fn scrub(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("generated.837");
    scrub837::generate::write_file(&path, CLAIMS).expect("writing the generated file");
    let bytes = std::fs::read(&path).expect("read back").len() as u64;
    let input = path.to_str().expect("UTF-8 path").to_string();
    let mut scrubber = Scrubber::new(ScrubOptions {
        out_dir: dir.path().join("out"),
        first_control: Some(1),
        ..ScrubOptions::default()
    })
    .expect("bundled rules and data load");

    for (unit, throughput) in [
        ("MB", Throughput::Bytes(bytes)),
        ("claims", Throughput::Elements(CLAIMS)),
    ] {
        let mut group = c.benchmark_group(format!("scrub_{unit}"));
        group.throughput(throughput);
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("memchr_terminators", CLAIMS), |b| {
            b.iter(|| {
                let data = std::fs::read(&path).expect("read");
                memchr::memchr_iter(b'~', &data).count()
            })
        });
        group.bench_function(BenchmarkId::new("reader_only", CLAIMS), |b| {
            b.iter(|| {
                let mut reader = ClaimReader::new(std::fs::File::open(&path).expect("open"));
                let mut claims = 0u64;
                while let Some(event) = reader.next_event().expect("generated file is valid") {
                    claims += u64::from(matches!(event, Event::Claim(_)));
                }
                claims
            })
        });
        group.bench_function(BenchmarkId::new("scrub_all_outputs", CLAIMS), |b| {
            b.iter(|| {
                scrubber
                    .scrub(&input)
                    .expect("generated file scrubs")
                    .accounting
            })
        });
        group.finish();
    }
}

criterion_group!(benches, scrub);
criterion_main!(benches);
