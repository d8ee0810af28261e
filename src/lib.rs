//! scrub837 reads X12 837P (005010X222A1) professional claim files and checks them before
//! they go to a payer.
//!
//! # The front door
//!
//! A program that reads, checks or scrubs claims needs only the names re-exported here:
//! [`ClaimReader`] streams [`Claim`]s and [`Diagnostic`]s out of any bytes, [`Engine`] checks
//! claims under a payer profile ([`CheckOptions`]), and [`Scrubber`] writes the
//! acknowledgments, the corrected file and the report for an input ([`ScrubOptions`],
//! [`FileReport`], [`Accounting`]). Every failure is one of the error types, each naming where.
//!
//! Reading:
//!
//! ```
//! use scrub837::{ClaimReader, Event};
//!
//! let file = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260105*1200*^*00501*000000001*0*T*:~GS*HC*S*R*20260105*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~SE*2*0001~GE*1*1~IEA*1*000000001~";
//! let mut reader = ClaimReader::new(file.as_bytes());
//! let mut problems = 0;
//! while let Some(event) = reader.next_event().unwrap() {
//!     if let Event::Problem(_) = event {
//!         problems += 1;
//!     }
//! }
//! assert_eq!(reader.summary().transaction_sets, 1);
//! assert!(problems > 0); // an 837P set needs a BHT and its loops
//! ```
//!
//! Checking and scrubbing a file:
//!
//! ```
//! use scrub837::{CheckOptions, Checked, Engine, ScrubOptions, Scrubber};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let input = dir.path().join("claims.837");
//! scrub837::generate::write_file(&input, 3).unwrap();
//! let input = input.to_str().unwrap();
//!
//! let engine = Engine::new(&CheckOptions::default()).unwrap();
//! let mut claims = 0;
//! engine
//!     .check_path(input, |checked| {
//!         if let Checked::Claim(_) = checked {
//!             claims += 1;
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! assert_eq!(claims, 3);
//!
//! let out = dir.path().join("out");
//! let mut scrubber = Scrubber::new(ScrubOptions {
//!     out_dir: out.clone(),
//!     ..ScrubOptions::default()
//! })
//! .unwrap();
//! let report = scrubber.scrub(input).unwrap();
//! assert!(report.accounting.balances());
//! assert!(out.join("claims.report.jsonl").exists());
//! ```
//!
//! # Inside
//!
//! The data flows one way, and so do the module dependencies (no module imports one to its
//! right; `tests/layout.rs` checks it):
//!
//! `diag` ← `x12` ← `grammar` ← `model` ← `read` · `reference` ← `rules` ← `repair` ← `ack` ←
//! `write` ← `history` ← `pipeline` ← `cli` ← `main.rs`
//!
//! [`diag`] is the one diagnostic type, [`x12`] frames segments and follows envelopes,
//! [`grammar`] places each segment in its 837P loop, [`model`] types claims as views over
//! their bytes, [`read`] streams them, [`reference`] holds the code sets, [`rules`] checks
//! claims, [`repair`] applies repairs, [`ack`] decides what the TA1 and 999 reject, [`write`]
//! formats every output, [`history`] remembers what earlier runs sent, [`pipeline`] wires the passes, and [`cli`] is the command line (the
//! only module that knows clap and exit codes). These modules are public for the project's own
//! tests, benchmarks and fuzz targets only: they are hidden from the documentation and may
//! change in any release.

#[doc(hidden)]
pub mod ack;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod diag;
#[doc(hidden)]
pub mod generate;
#[doc(hidden)]
pub mod grammar;
#[doc(hidden)]
pub mod history;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod pipeline;
#[doc(hidden)]
pub mod read;
#[doc(hidden)]
pub mod reference;
#[doc(hidden)]
pub mod repair;
#[doc(hidden)]
pub mod rules;
#[doc(hidden)]
pub mod write;
#[doc(hidden)]
pub mod x12;

pub use diag::{Diagnostic, Location, Severity};
pub use model::Claim;
pub use pipeline::check::{CheckError, CheckOptions, Checked, Engine};
pub use pipeline::scrub::{Accounting, FileReport, ScrubError, ScrubOptions, Scrubber};
pub use read::{ClaimReader, Event};
pub use x12::ReadError;
