//! The tool subcommands (issue 10): `show` on acknowledgments `scrub` wrote and on public
//! ones, completions and the man page, help examples, `--version`, `explain` for every id the
//! code can print, and configuration discovery. Each test runs the real executable.
//!
//! `show` outputs are compared whole with `tests/golden/show/*.txt`; to accept a deliberate
//! change, run with `SCRUB837_BLESS=1` and review the diff.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The acknowledgments' fixed creation time, so outputs are reproducible.
const ACK_TIME: &str = "202601161200";

fn scrub837() -> Command {
    Command::cargo_bin("scrub837").expect("binary builds")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Scrubs `input` into a fresh directory and returns it.
fn scrub(input: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    let status = scrub837()
        .args([
            "scrub",
            "--ack-time",
            ACK_TIME,
            "--first-control",
            "1",
            "--out",
        ])
        .arg(out.path())
        .arg(repo(input))
        .output()
        .expect("runs")
        .status;
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "scrub {input}: {status}"
    );
    out
}

/// `show FILE` (run in the file's directory, so the name printed is the bare file name):
/// stdout, and the exit code.
fn show(dir: &Path, file: &str, extra: &[&str]) -> (String, i32) {
    let output = scrub837()
        .current_dir(dir)
        .arg("show")
        .arg(file)
        .args(extra)
        .output()
        .expect("runs");
    (
        String::from_utf8(output.stdout).expect("utf-8"),
        output.status.code().unwrap_or(-1),
    )
}

/// Compares `actual` with the golden file `name`, or writes it under `SCRUB837_BLESS`.
fn golden(name: &str, actual: &str) {
    let path = repo("tests/golden/show").join(name);
    if std::env::var_os("SCRUB837_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SCRUB837_BLESS=1 writes it)", path.display()));
    assert_eq!(
        actual,
        expected,
        "show output differs from {}",
        path.display()
    );
}

#[test]
fn show_reads_the_277ca_scrub_wrote_for_the_sample() {
    let out = scrub("samples/97012-claims.837");
    let (text, code) = show(out.path(), "97012-claims.277", &[]);
    assert_eq!(code, 1, "the sample's 277CA rejects claims");
    golden("97012-claims.277.txt", &text);
    // No patient name or member id of the sample without --show-phi; with it, they appear.
    for phi in ["TESTPATIENT", "SYNMBI00011", "SYNMEM0012"] {
        assert!(!text.contains(phi), "{phi} shown without --show-phi");
    }
    let (with_phi, _) = show(out.path(), "97012-claims.277", &["--show-phi"]);
    assert!(with_phi.contains("patient TESTPATIENT, ALICE (MI SYNMBI00011)"));
}

#[test]
fn show_reads_a_rejecting_999_and_a_ta1_scrub_wrote() {
    let out = scrub("tests/bad/nm103-too-long.837");
    let (text, code) = show(out.path(), "nm103-too-long.999", &[]);
    assert_eq!(code, 1);
    golden("nm103-too-long.999.txt", &text);
    let out = scrub("tests/bad/isa06-short.837");
    let (text, code) = show(out.path(), "isa06-short.ta1", &[]);
    assert_eq!(code, 1);
    golden("isa06-short.ta1.txt", &text);
}

#[test]
fn show_reads_an_accepting_999_with_several_interchanges() {
    let out = scrub("samples/multi-interchange.837");
    let (text, code) = show(out.path(), "multi-interchange.999", &[]);
    assert_eq!(code, 0);
    golden("multi-interchange.999.txt", &text);
}

#[test]
fn show_reads_public_acknowledgments() {
    let dir = repo("tests/public/acks");
    for (file, code) in [
        ("dwai__X214-payer-response.edi", 1),
        ("ims__x12_277CA_rejected.txt", 1),
        ("ims__x12_999_rejected.txt", 1),
        ("ims__x12_999_accepted.txt", 0),
    ] {
        let (text, actual) = show(&dir, file, &[]);
        assert_eq!(actual, code, "{file}");
        golden(&format!("{file}.txt"), &text);
    }
}

#[test]
fn show_says_why_a_file_is_not_an_acknowledgment() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("note.txt"), "hello\n").expect("write");
    scrub837()
        .current_dir(dir.path())
        .args(["show", "note.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: note.txt: byte 0: expected an interchange (ISA), found \"hello\\n\"\n");
}

/// Every visible subcommand path (`["refdata", "import"]`...) of the command definition.
fn subcommand_paths() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&scrub837::cli::Args::command(), &[], &mut out);
    out
}

fn stdout_of(args: &[&str]) -> String {
    let output = scrub837().args(args).output().expect("runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn every_subcommand_help_has_an_example_and_short_help_is_shorter() {
    let paths = subcommand_paths();
    assert!(paths.len() >= 13, "{paths:?}");
    for path in std::iter::once(Vec::new()).chain(paths) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let long = stdout_of(&args);
        args.pop();
        args.push("-h");
        let short = stdout_of(&args);
        let invocation = format!("scrub837 {}", path.join(" "));
        for (which, text) in [("--help", &long), ("-h", &short)] {
            let examples = text
                .split_once("Examples:\n")
                .unwrap_or_else(|| panic!("{invocation} {which} has no Examples:\n{text}"))
                .1;
            assert!(
                examples.contains(invocation.trim_end()),
                "{invocation} {which}: no example runs it:\n{examples}"
            );
        }
        assert!(short.len() < long.len(), "{invocation}: -h is not shorter");
    }
    let top = stdout_of(&["--help"]);
    assert!(top.contains("Exit codes:\n  0 "), "{top}");
}

#[test]
fn completions_generate_for_every_shell_and_name_every_subcommand() {
    let names: Vec<String> = subcommand_paths()
        .into_iter()
        .filter(|p| p.len() == 1 && p[0] != "generate")
        .map(|p| p[0].clone())
        .collect();
    assert!(names.contains(&"show".to_string()), "{names:?}");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completions lack {name}"
            );
        }
    }
}

#[test]
fn man_page_renders_to_stdout_and_one_page_per_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.starts_with(".ie"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains(".TH scrub837 1"), "no title");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("man1");
    scrub837()
        .args(["man", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    for path in subcommand_paths()
        .into_iter()
        .filter(|p| p[0] != "generate")
    {
        let file = out.join(format!("scrub837-{}.1", path.join("-")));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains(".SH NAME"), "{}", file.display());
    }
    assert!(out.join("scrub837.1").is_file());
}

#[test]
fn version_names_the_bundled_editions_from_the_data_itself() {
    let version = stdout_of(&["--version"]);
    // ICD-10-CM: the first and last complete fiscal years and the partial one.
    let editions = std::fs::read_to_string(repo("data/icd10cm/editions.tsv")).expect("editions");
    let rows: Vec<Vec<&str>> = editions
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let fiscal: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1].starts_with("FY")).collect();
    let complete: Vec<&str> = fiscal
        .iter()
        .filter(|r| r[4] == "complete")
        .map(|r| r[1])
        .collect();
    let first = complete.first().expect("a complete edition");
    let last = complete.last().expect("a complete edition");
    assert!(
        version.contains(&format!("ICD-10-CM {first}-{last}")),
        "{version}"
    );
    for partial in fiscal.iter().filter(|r| r[4] == "partial") {
        assert!(
            version.contains(&format!("{} partial", partial[1])),
            "{version}"
        );
    }
    // MUE: the effective date in the bundled file's name.
    let mue = std::fs::read_dir(repo("data/ncci"))
        .expect("data/ncci")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find_map(|n| {
            n.strip_prefix("MCR_MUE_PractitionerServices_Eff_")?
                .strip_suffix(".csv")
                .map(str::to_string)
        })
        .expect("a bundled MUE file");
    let (month_day, year) = mue.rsplit_once('-').expect("MM-DD-YYYY");
    assert!(
        version.contains(&format!("MUE effective {year}-{month_day}")),
        "{version}"
    );
    // NUCC: the version line of the taxonomy table.
    let taxonomy = std::fs::read_to_string(repo("data/nucc/taxonomy.tsv")).expect("taxonomy");
    let nucc = taxonomy
        .lines()
        .find_map(|l| l.strip_prefix("#version\t"))
        .and_then(|l| l.split('\t').next())
        .expect("#version");
    assert!(
        version.contains(&format!("NUCC taxonomy {nucc}")),
        "{version}"
    );
    // Fee schedule: the years of the bundled table.
    let fees = std::fs::read_to_string(repo("data/fee-schedule/mpfs-national.csv")).expect("fees");
    let years: std::collections::BTreeSet<&str> = fees
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let span = format!(
        "fee schedule {}-{}",
        years.first().expect("a year"),
        years.last().expect("a year")
    );
    assert!(version.contains(&span), "{version} lacks {span}");
}

#[test]
fn explain_knows_every_id_the_code_can_print() {
    let registry = scrub837::rules::registry::Registry::new();
    let mut ids: Vec<&str> = registry.rules().iter().map(|r| r.info().id).collect();
    ids.extend(scrub837::diag::Kind::X12.iter().map(|k| k.id()));
    ids.extend(registry.x12().iter().map(|d| d.id()));
    assert!(ids.len() >= 40, "{ids:?}");
    for id in ids {
        let text = stdout_of(&["explain", id]);
        assert!(text.starts_with(&format!("{id}: ")), "explain {id}: {text}");
        assert!(
            text.lines().count() >= 3,
            "explain {id} is one line: {text}"
        );
    }
}

/// A working directory and a home directory, both empty, for discovery tests.
struct Homes {
    _root: tempfile::TempDir,
    work: PathBuf,
    home: PathBuf,
}

fn homes() -> Homes {
    let root = tempfile::tempdir().expect("temp dir");
    let work = root.path().join("work");
    let home = root.path().join("home");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::fs::create_dir_all(&home).expect("mkdir");
    Homes {
        work,
        home,
        _root: root,
    }
}

impl Homes {
    /// `scrub837 ARGS` in the working directory, with HOME set and XDG_CONFIG_HOME unset.
    fn run(&self, args: &[&str]) -> std::process::Output {
        scrub837()
            .current_dir(&self.work)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .args(args)
            .output()
            .expect("runs")
    }
}

/// Turns off the rule that rejects 97014 for Medicare, which fires on the sample.
const QUIET_97014: &str = "[rules]\nT97014-MEDICARE = \"off\"\n";

#[test]
fn config_in_the_working_directory_is_found_named_and_used() {
    let h = homes();
    std::fs::write(h.work.join("scrub837.toml"), QUIET_97014).expect("write");
    let sample = repo("samples/97012-claims.837");
    let sample = sample.to_str().expect("utf-8 path");
    let out = h.run(&["check", sample]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("config: scrub837.toml (found in the working directory)\n"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("T97014-MEDICARE"));
    let out = h.run(&["scrub", sample, "--out", "acks"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("config: scrub837.toml (found in the working directory)\n"),
        "{stderr}"
    );
    // Without the file the rule fires: the test above can fail.
    std::fs::remove_file(h.work.join("scrub837.toml")).expect("remove");
    let out = h.run(&["check", sample]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("T97014-MEDICARE"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("config:"));
}

#[test]
fn config_print_names_the_user_directory_file_and_each_rule_action() {
    let h = homes();
    let user = h.home.join(".config/scrub837");
    std::fs::create_dir_all(&user).expect("mkdir");
    std::fs::write(user.join("scrub837.toml"), QUIET_97014).expect("write");
    let out = h.run(&["config", "--print"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "# configuration: {} (found in the user's config directory)",
            user.join("scrub837.toml").display()
        )
    );
    assert!(
        text.contains("[rules]\nT97014-MEDICARE = \"off\"\n"),
        "{text}"
    );
    // The table row, after the settings line of the same rule.
    let row = text
        .lines()
        .rfind(|l| l.starts_with("T97014-MEDICARE "))
        .expect("a row per rule");
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["T97014-MEDICARE", "off", "off", "off", "off"]
    );
    // XDG_CONFIG_HOME replaces ~/.config; there is nothing there.
    let xdg = h.home.join("xdg");
    let out = scrub837()
        .current_dir(&h.work)
        .env("HOME", &h.home)
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["config", "--print"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().next().unwrap_or_default(),
        format!(
            "# configuration: none (defaults); looked for ./scrub837.toml and {}",
            xdg.join("scrub837/scrub837.toml").display()
        )
    );
}

#[test]
fn explicit_config_wins_over_the_working_directory() {
    let h = homes();
    std::fs::write(h.work.join("scrub837.toml"), QUIET_97014).expect("write");
    std::fs::write(h.work.join("other.toml"), "").expect("write");
    let out = h.run(&["config", "--print", "--config", "other.toml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("# configuration: other.toml (given with --config)\n"),
        "{text}"
    );
    assert!(text.contains("[rules]\n\n"), "{text}");
}

#[test]
fn a_bad_key_names_the_key_and_the_file() {
    let h = homes();
    std::fs::write(h.work.join("scrub837.toml"), "colour = \"red\"\n").expect("write");
    let out = h.run(&["config", "--print"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: scrub837.toml: TOML parse error at line 1, column 1\n  |\n1 | colour = \"red\"\n  | ^^^^^^\nunknown field `colour`, expected one of `payers`, `rules`, `distinct_service_modifier`, `history`, `history_window_days`\n\n"
    );
    let sample = repo("samples/clean-single-claim.837");
    let out = h.run(&["check", sample.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `colour`"));
}

#[test]
fn rules_config_lists_only_what_the_config_changes() {
    let h = homes();
    std::fs::write(
        h.work.join("ours.toml"),
        "distinct_service_modifier = \"XU\"\n[payers]\n\"12345\" = \"anthem\"\n[rules]\nT97014-MEDICARE = \"off\"\n",
    )
    .expect("write");
    let out = h.run(&["rules", "--config", "ours.toml"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "# what ours.toml changes against the defaults
T97012-NCCI-97140      medicare             reject -> repair
T97012-NCCI-97140      commercial           reject -> repair
T97012-NCCI-97140      uhc-community-plan   reject -> repair
T97014-MEDICARE        medicare             reject -> off
payer 12345            checked under anthem (default: medicare for SBR09 MB, else commercial)
distinct_service_modifier XU: T97012-NCCI-97140 appends it to 97140 (default: rejects)
"
    );
    std::fs::write(h.work.join("empty.toml"), "").expect("write");
    let out = h.run(&["rules", "--config", "empty.toml"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "# what empty.toml changes against the defaults\nnothing: every rule, payer and setting is as by default\n"
    );
}
