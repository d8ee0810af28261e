//! The TA1 interchange acknowledgment.
//!
//! A TA1 reports on the ISA/IEA envelope only. [`write()`] makes an interchange holding just
//! `ISA`, `TA1` and `IEA` (`IEA01` is 0: no functional groups).
//!
//! TA101–TA103 echo the input's ISA13, ISA09 and ISA10. One that is not valid (ISA13 not 9
//! digits, ISA09 not a real YYMMDD date, ISA10 not a real HHMM time) is never copied: the TA1
//! would fail validation. A valid stand-in is written instead: `000000000` for the control
//! number, the acknowledgment's own date and time for the others (the reader's problem about
//! the field says so in the report).

use super::{AckEnvelope, SegmentWriter};
pub use crate::ack::Ta1;
use crate::x12::envelope::{is_hhmm, is_yymmdd};

/// TA101 when the input's ISA13 is not 9 digits.
pub const CONTROL_STAND_IN: &str = "000000000";

/// Writes one interchange holding the TA1 for `acknowledged`.
pub fn write(env: &AckEnvelope, acknowledged: &Ta1) -> Vec<u8> {
    let mut w = SegmentWriter::new(env.delimiters, env.line_break);
    env.write_isa(&mut w);
    let code = acknowledged.code.to_string();
    let control = acknowledged.control.as_str();
    let control = if control.len() == 9 && control.bytes().all(|b| b.is_ascii_digit()) {
        control.to_string()
    } else {
        CONTROL_STAND_IN.to_string()
    };
    let date = valid_or(&acknowledged.date, is_yymmdd, || {
        env.created.format("%y%m%d").to_string()
    });
    let time = valid_or(&acknowledged.time, is_hhmm, || {
        env.created.format("%H%M").to_string()
    });
    w.segment(
        "TA1",
        &[
            control.as_str(),
            date.as_str(),
            time.as_str(),
            code.as_str(),
            acknowledged.note.as_str(),
        ],
    );
    env.write_iea(&mut w, 0);
    w.into_bytes()
}

/// `value` when `valid` says so, else the stand-in.
fn valid_or(value: &str, valid: fn(&[u8]) -> bool, stand_in: impl FnOnce() -> String) -> String {
    if valid(value.as_bytes()) {
        value.to_string()
    } else {
        stand_in()
    }
}
