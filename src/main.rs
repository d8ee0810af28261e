//! The scrub837 command line: everything, arguments included, is in the library's `cli`.

fn main() {
    std::process::exit(scrub837::cli::main());
}
