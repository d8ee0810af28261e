//! Arbitrary bytes through the whole read stage: framing, envelopes, grammar, claim model.
//! Must never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scrub837::read::{ClaimReader, Event};

fuzz_target!(|data: &[u8]| {
    let mut reader = ClaimReader::new(data).keep_envelope();
    let mut acks = scrub837::acknowledge::AckBuilder::new();
    loop {
        match reader.next_event() {
            Ok(Some(Event::Claim(raw))) => {
                let claim = scrub837::model::Claim::decode(*raw);
                let record = scrub837::model::json::claim_record(&claim, false);
                let _ = record.to_string();
                let _ = scrub837::model::json::claim_record(&claim, true);
                let problems = scrub837::check::element_problems(
                    &claim,
                    scrub837::check::FreshLevels {
                        billing: true,
                        subscriber: true,
                        patient: true,
                    },
                );
                acks.claim(&claim, problems);
            }
            Ok(Some(Event::Problem(problem))) => {
                let _ = problem.message.len();
                acks.problem(problem);
            }
            Ok(Some(Event::Envelope(segment))) => {
                let _ = segment.segment().id();
                acks.envelope(&segment);
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
    let acks = acks.finish();
    for ic in &acks.interchanges {
        let _ = ic.ta1();
    }
    let env = scrub837::write::AckEnvelope {
        sender_qualifier: "ZZ".into(),
        sender_id: "SCRUBBER".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "SUBMITTER".into(),
        application_sender: String::new(),
        application_receiver: String::new(),
        interchange_control: 1,
        group_control: 1,
        created: Default::default(),
        usage: 'T',
        delimiters: scrub837::x12::Delimiters::STANDARD,
        line_break: false,
    };
    let _ = scrub837::write::ack999::write(&env, &acks.groups_for_999());
});
