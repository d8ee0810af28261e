//! scrub837 reads X12 837P (005010X222A1) professional claim files and checks them before
//! they go to a payer.
//!
//! The data flows one way: [`x12`] frames segments and follows envelopes, [`grammar`] places
//! each segment in its 837P loop, [`model`] builds typed claims, and [`read`] wires them into a
//! stream of claims and problems. Everything streams: memory is bounded by the largest claim,
//! not the file.
//!
//! ```
//! let file = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~GS*HC*S*R*20260105*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~SE*2*0001~GE*1*1~IEA*1*000000001~";
//! let mut reader = scrub837::read::ClaimReader::new(file.as_bytes());
//! while let Some(_event) = reader.next_event().unwrap() {}
//! assert_eq!(reader.summary().transaction_sets, 1);
//! ```

pub mod acknowledge;
pub mod check;
pub mod check_html;
pub mod cli;
pub mod diag;
pub mod generate;
pub mod grammar;
pub mod model;
pub mod pipeline;
pub mod read;
pub mod reference;
pub mod repair;
pub mod report;
pub mod rules;
pub mod scrub;
pub mod write;
pub mod x12;
