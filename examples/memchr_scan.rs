//! The bench baseline: streams a file once and counts its segment terminators with memchr,
//! the least any reader of the file can do. `scripts/bench.sh` times it as a process next to
//! `parse`, `check` and `scrub`, so every figure has a ratio to this one from the same run.
//!
//! `cargo run --release --example memchr_scan -- FILE [TERMINATOR]` (default terminator `~`,
//! the generator's).

use std::io::Read;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: memchr_scan FILE [TERMINATOR]")?;
    let terminator = match args.next() {
        Some(t) if t.len() == 1 => t.as_bytes()[0],
        Some(_) => return Err("the terminator is one byte".into()),
        None => b'~',
    };
    let started = Instant::now();
    let (bytes, count) = count_terminators(&path, terminator)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{bytes} bytes, {count} terminators, {:.1} MB/s",
        bytes as f64 / 1e6 / seconds
    );
    Ok(())
}

/// Streams the file once in 1 MiB reads, counting `terminator` bytes.
fn count_terminators(path: &str, terminator: u8) -> std::io::Result<(u64, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut bytes, mut count) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((bytes, count));
        }
        bytes += n as u64;
        count += memchr::memchr_iter(terminator, &buf[..n]).count() as u64;
    }
}
