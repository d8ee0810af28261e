//! `check --html FILE`: the HTML report of one input without the other outputs of `scrub`.
//!
//! The page is the one `scrub` writes (`NAME.report.html`, see
//! [`crate::write::report_html`]): the input is scrubbed into a private temporary directory,
//! removed afterwards, and only the page is kept, written whole at `FILE` (named only when
//! complete, like every output). So `check` and `scrub` can never disagree about a report.

use std::io;
use std::path::Path;

use crate::pipeline::check::CheckOptions;
use crate::pipeline::scrub::{ScrubError, ScrubOptions, Scrubber};
use crate::write::atomic::OutputFile;

/// Why `check --html` wrote no page.
#[derive(Debug, thiserror::Error)]
pub enum CheckHtmlError {
    /// The page is made from a file read a second time; standard input cannot be.
    #[error("--html needs a file to read: standard input is read once, by the check")]
    StandardInput,
    /// The private directory could not be made.
    #[error("cannot make a temporary directory: {0}")]
    TempDir(#[source] io::Error),
    /// The scrub that makes the page failed.
    #[error("{0}")]
    Scrub(#[from] ScrubError),
    /// The page could not be written at its place.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The page asked for.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// Writes the HTML report of `input`, checked with `options`, at `html`.
pub fn write_html_report(
    input: &str,
    options: CheckOptions,
    html: &Path,
) -> Result<(), CheckHtmlError> {
    if input == "-" {
        return Err(CheckHtmlError::StandardInput);
    }
    let work = tempfile::tempdir().map_err(CheckHtmlError::TempDir)?;
    let mut scrubber = Scrubber::new(ScrubOptions {
        check: options,
        out_dir: work.path().to_path_buf(),
        ..ScrubOptions::default()
    })?;
    let report = scrubber.scrub(input)?;
    let page = work.path().join(format!("{}.report.html", report.name));
    let write_error = |source| CheckHtmlError::Write {
        path: html.display().to_string(),
        source,
    };
    let dir = match html.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = html
        .file_name()
        .ok_or_else(|| write_error(io::Error::other("not a file name")))?;
    let mut out = OutputFile::create(dir).map_err(write_error)?;
    let mut from = std::fs::File::open(&page).map_err(write_error)?;
    io::copy(&mut from, &mut out).map_err(write_error)?;
    out.commit(&name.to_string_lossy()).map_err(write_error)?;
    Ok(())
}
