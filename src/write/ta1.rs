//! The TA1 interchange acknowledgment.
//!
//! A TA1 reports on the ISA/IEA envelope only. [`write()`] makes an interchange holding just
//! `ISA`, `TA1` and `IEA` (`IEA01` is 0: no functional groups).

use super::{AckEnvelope, SegmentWriter};

/// What the TA1 says about one input interchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ta1 {
    /// TA101: the input's ISA13, copied as given (9 digits in a valid input).
    pub control: String,
    /// TA102: the input's ISA09 (YYMMDD).
    pub date: String,
    /// TA103: the input's ISA10 (HHMM).
    pub time: String,
    /// TA104: `A` accepted, `E` accepted with errors, `R` rejected.
    pub code: char,
    /// TA105: the interchange note code, such as `000` (no error), `001` (ISA13/IEA02
    /// differ), `021` (IEA01 count), `022` (control structure), `023` (improper end of file).
    pub note: String,
}

/// Writes one interchange holding the TA1 for `acknowledged`.
pub fn write(env: &AckEnvelope, acknowledged: &Ta1) -> Vec<u8> {
    let mut w = SegmentWriter::new(env.delimiters, env.line_break);
    env.write_isa(&mut w);
    let code = acknowledged.code.to_string();
    w.segment(
        "TA1",
        &[
            acknowledged.control.as_str(),
            acknowledged.date.as_str(),
            acknowledged.time.as_str(),
            code.as_str(),
            acknowledged.note.as_str(),
        ],
    );
    env.write_iea(&mut w, 0);
    w.into_bytes()
}
