//! The scrub837 command line: parses arguments and hands them to the library.

use clap::Parser;

fn main() {
    let args = scrub837::cli::Args::parse();
    std::process::exit(scrub837::cli::run(args));
}
