//! `check` throughput (both passes, every rule, findings collected) on a generated file, in
//! claims per second, with one and with two rayon threads, next to the reader alone in the
//! same run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scrub837::pipeline::check::{CheckOptions, Checked, Engine};
use scrub837::read::{ClaimReader, Event};

const CLAIMS: u64 = 20_000;

fn check(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("generated.837");
    scrub837::generate::write_file(&path, CLAIMS).expect("writing the generated file");
    let file = path
        .to_str()
        .expect("temporary paths are UTF-8")
        .to_string();
    let engine = Engine::new(&CheckOptions::default()).expect("bundled rules and data load");

    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Elements(CLAIMS));
    group.sample_size(10);
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
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter(|| {
                pool.install(|| {
                    let mut findings = 0usize;
                    engine
                        .check_path(&file, |checked| {
                            if let Checked::Claim(result) = checked {
                                findings += result.findings.len();
                            }
                            Ok(())
                        })
                        .expect("generated file checks");
                    findings
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
