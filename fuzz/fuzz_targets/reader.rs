//! Arbitrary bytes through the claim reader: framing, envelopes, grammar, claim build, and
//! each claim's decode into the typed model. Must never panic, hang or allocate without bound.
//!
//! Only the reader and the claim are used, so the target keeps working as the layers above
//! change; `check` and `scrub` cover the rules and the writers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::model::Claim;
use scrub837::read::{ClaimReader, Event};

fuzz_target!(|data: &[u8]| {
    let mut reader = ClaimReader::new(data).keep_envelope();
    loop {
        match reader.next_event() {
            Ok(Some(Event::Claim(raw))) => {
                let _ = Claim::decode(raw);
            }
            Ok(Some(Event::Problem(_) | Event::Envelope(_))) => {}
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    assert!(reader.summary().bytes <= data.len() as u64);
});
