//! Reads a file through the claim reader and prints counts; used for profiling the reader.

use scrub837::read::{ClaimReader, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: read_only FILE")?;
    let file = std::fs::File::open(&path)?;
    let mut reader = ClaimReader::new(file);
    let mut claims = 0u64;
    while let Some(event) = reader.next_event()? {
        if let Event::Claim(_) = event {
            claims += 1;
        }
    }
    println!("{claims} claims; {:?}", reader.summary());
    Ok(())
}
