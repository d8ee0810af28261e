//! The module layout: dependencies point one way (see the crate documentation), and only
//! `cli` knows clap and exit codes.

use std::fs;
use std::path::Path;

/// Each module's level: a module may import only modules of a lower level (`read` and
/// `reference` are siblings and may not import each other; `generate` is a test and demo
/// helper that only writes X12 text from the model).
const LEVELS: &[(&str, u8)] = &[
    ("diag", 0),
    ("x12", 1),
    ("grammar", 2),
    ("model", 3),
    ("generate", 4),
    ("read", 5),
    ("reference", 5),
    ("rules", 6),
    ("repair", 7),
    ("ack", 8),
    ("write", 9),
    ("history", 10),
    ("pipeline", 11),
    ("cli", 12),
];

fn level(module: &str) -> Option<u8> {
    LEVELS.iter().find(|(m, _)| *m == module).map(|&(_, l)| l)
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/rules/index.rs` -> `rules`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// The modules a line of code names with `crate::NAME`, comments left out.
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        if module == "lib" || module == "main" {
            continue;
        }
        let own = level(&module).unwrap_or_else(|| panic!("{module} has no level in LEVELS"));
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for dep in crate_paths(line) {
                if dep == module {
                    continue;
                }
                if let Some(theirs) = level(dep) {
                    if theirs >= own {
                        upward.push(format!("{}:{}: {module} -> {dep}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layout:\n{}",
        upward.join("\n")
    );
    assert!(files.len() > 50, "found only {} source files", files.len());
}

#[test]
fn only_cli_knows_clap_and_exit_codes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut leaks = Vec::new();
    for file in &files {
        let module = module_of(&src, file).unwrap_or_default();
        if module == "cli" || module == "main" {
            continue;
        }
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("clap::") || code.contains("process::exit") || code.contains("EXIT_") {
                leaks.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "clap or exit codes outside cli:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn main_only_calls_the_cli() {
    let main =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs")).unwrap();
    let code: Vec<&str> = main
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim().is_empty())
        .collect();
    assert_eq!(
        code,
        [
            "fn main() {",
            "    std::process::exit(scrub837::cli::main());",
            "}"
        ]
    );
}
