//! Reads a file through the claim reader and reports throughput next to a baseline measured
//! in the same run: a memchr count of segment terminators over the same file.
//!
//! `cargo run --release --example read_only -- FILE`

use std::io::Read;
use std::time::Instant;

use scrub837::read::{ClaimReader, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: read_only FILE")?;

    let started = Instant::now();
    let (bytes, terminators) = count_terminators(&path)?;
    let baseline = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut reader = ClaimReader::new(std::fs::File::open(&path)?);
    let mut claims = 0u64;
    while let Some(event) = reader.next_event()? {
        if let Event::Claim(_) = event {
            claims += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let summary = reader.summary();

    let mb = bytes as f64 / 1e6;
    println!("file: {path}: {mb:.1} MB, {terminators} segment terminators");
    println!(
        "baseline (memchr count of terminators): {:8.1} MB/s",
        mb / baseline
    );
    println!(
        "reader (frame + grammar + claim build):  {:8.1} MB/s, {:.0} claims/s ({} claims, {} lines, {} findings)",
        mb / elapsed,
        claims as f64 / elapsed,
        summary.claims,
        summary.lines,
        summary.problems
    );
    Ok(())
}

/// Streams the file once, counting `~` bytes (the generator's terminator).
fn count_terminators(path: &str) -> std::io::Result<(u64, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut bytes, mut count) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((bytes, count));
        }
        bytes += n as u64;
        count += memchr::memchr_iter(b'~', &buf[..n]).count() as u64;
    }
}
