//! Arbitrary bytes through the whole read stage: framing, envelopes, grammar, claim model.
//! Must never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::read::{ClaimReader, Event};

fuzz_target!(|data: &[u8]| {
    let mut reader = ClaimReader::new(data);
    loop {
        match reader.next_event() {
            Ok(Some(Event::Claim(raw))) => {
                let claim = scrub837::model::Claim::decode(*raw);
                let record = scrub837::model::json::claim_record(&claim, false);
                let _ = record.to_string();
                let _ = scrub837::model::json::claim_record(&claim, true);
            }
            Ok(Some(Event::Problem(problem))) => {
                let _ = problem.message.len();
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    let summary = reader.summary();
    assert!(summary.bytes <= data.len() as u64);
});
