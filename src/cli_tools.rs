//! The command line's tool subcommands, apart from `cli.rs` so they stay easy to move:
//! `show` (acknowledgments read aloud), `completions`, `man` and `config --print`.

use std::io::{self, Read, Write};
use std::path::Path;

use crate::cli::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE};
use crate::show::{ShowError, ShowOptions};

/// `scrub837 show FILE`: 0 when everything acknowledged is accepted, 1 when the
/// acknowledgment rejects something, 2 when the file cannot be read.
pub fn show_command(file: &str, show_phi: bool) -> i32 {
    let name = if file == "-" { "<stdin>" } else { file };
    let mut bytes = Vec::new();
    let read = if file == "-" {
        io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(Path::new(file)).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    if let Err(e) = read {
        eprintln!("error: {name}: cannot read: {e}");
        return EXIT_UNREADABLE;
    }
    let shown = match crate::show::render(&bytes, ShowOptions { show_phi }) {
        Ok(shown) => shown,
        Err(
            e
            @ (ShowError::NotAnInterchange { .. } | ShowError::ShortIsa { .. } | ShowError::Empty),
        ) => {
            eprintln!("error: {name}: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut out = io::stdout().lock();
    // A closed pipe (`| head`) is not an error.
    let _ = write!(out, "{name}\n{}", shown.text).and_then(|()| out.flush());
    if shown.rejects {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}
