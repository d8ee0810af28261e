//! The examples and exit codes of `--help`: `-h` shows one example, `--help` several with
//! what they do. Kept apart from the argument definitions so both stay readable.

/// `scrub837 -h` (after the options).
pub const TOP_SHORT: &str = "\
Examples:
  scrub837 scrub claims.837 --out acks/
Exit codes: 0 clean, 1 findings, 2 could not run (--help says more)";

/// `scrub837 --help` (after the options).
pub const TOP_LONG: &str = "\
Examples:
  scrub837 check claims.837              findings on the terminal, nothing written
  scrub837 scrub claims.837 --out acks/  277CA, 999, corrected 837P and a report in acks/
  scrub837 show acks/claims.277          read an acknowledgment
  scrub837 explain T97012-UNITS          what a rule checks and how to fix it

Exit codes:
  0  every claim accepted with nothing to repair (show: everything accepted)
  1  findings: something was repaired or rejected (show: the acknowledgment rejects something)
  2  could not run: an input could not be read, an output not written, or the options or
     configuration are wrong

Configuration: --config PATH, else ./scrub837.toml, else
$XDG_CONFIG_HOME/scrub837/scrub837.toml (~/.config/scrub837/scrub837.toml);
`scrub837 config --print` shows what is in effect.";

/// `parse -h`.
pub const PARSE_SHORT: &str = "Examples:\n  scrub837 parse claims.837 > claims.jsonl";
/// `parse --help`.
pub const PARSE_LONG: &str = "\
Examples:
  scrub837 parse claims.837 > claims.jsonl      one JSON object per claim, no names or ids
  scrub837 parse - < claims.837 | head -n 1     the first claim, from standard input";

/// `check -h`.
pub const CHECK_SHORT: &str = "Examples:\n  scrub837 check claims.837";
/// `check --help`.
pub const CHECK_LONG: &str = "\
Examples:
  scrub837 check claims.837                       the summary, findings by claim, a legend
  scrub837 check claims.837 -q                    the summary alone
  scrub837 check claims.837 --color always | less -R
                                                  colours through a pager
  scrub837 check claims.837 --profile medicare    every claim under the medicare profile
  scrub837 check claims.837 --format json | jq .  JSON Lines for programs
  scrub837 check claims.837 --config ours.toml    rule actions and payer map from a file
  scrub837 check nightly/ --summary-json run.json every X12 file of a folder, one batch";

/// `scrub -h`.
pub const SCRUB_SHORT: &str = "Examples:\n  scrub837 scrub claims.837 --out acks/";
/// `scrub --help`.
pub const SCRUB_LONG: &str = "\
Examples:
  scrub837 scrub claims.837 --out acks/               answers and report in acks/
  scrub837 scrub a.837 b.837 --out acks/ --wait       several inputs, waiting for another run
  scrub837 scrub claims.837 --out acks/ --ack-time 202601161200 --first-control 1
                                                      reproducible acknowledgments
  scrub837 scrub nightly/ --out acks/ --skip-done     a folder; re-run after a crash scrubs
                                                      only what has no complete outputs

Exit codes, the worst input wins: 2 an input could not be read (or a named input is not X12)
or an output written, else 1 anything repaired or rejected, else 0. Files of a folder that are
not X12, and inputs skipped as done, are listed and do not count.";

/// `rules -h`.
pub const RULES_SHORT: &str = "Examples:\n  scrub837 rules";
/// `rules --help`.
pub const RULES_LONG: &str = "\
Examples:
  scrub837 rules                       every rule and X12 id with its action per profile
  scrub837 rules --config ours.toml    only what that configuration changes";

/// `explain -h`.
pub const EXPLAIN_SHORT: &str = "Examples:\n  scrub837 explain T97012-UNITS";
/// `explain --help`.
pub const EXPLAIN_LONG: &str = "\
Examples:
  scrub837 explain T97012-UNITS    a claim rule: what, why, source, fix, appeal
  scrub837 explain X12-ISA         an X12 id: what it checks and what answers it";

/// `show -h`.
pub const SHOW_SHORT: &str = "Examples:\n  scrub837 show acks/claims.277";
/// `show --help`.
pub const SHOW_LONG: &str = "\
Examples:
  scrub837 show acks/claims.277               each claim's status, charge and reason
  scrub837 show acks/claims.999               rejected sets, segments and elements
  scrub837 show payer-response.edi --show-phi with patient names and member ids";

/// `refdata -h`.
pub const REFDATA_SHORT: &str = "Examples:\n  scrub837 refdata list";
/// `refdata --help`.
pub const REFDATA_LONG: &str = "\
Examples:
  scrub837 refdata list                                            editions in use
  scrub837 refdata import mue MCR_MUE_PractitionerServices_Eff_07-01-2026.csv
  scrub837 refdata import taxonomy nucc_taxonomy_260.csv";

/// `refdata import -h`.
pub const IMPORT_SHORT: &str =
    "Examples:\n  scrub837 refdata import icd10cm icd10cm_order_2027.txt";
/// `refdata import --help`.
pub const IMPORT_LONG: &str = "\
Examples:
  scrub837 refdata import icd10cm icd10cm_order_2027.txt     effective date from the name
  scrub837 refdata import pprrvu PPRRVU26_JAN.csv            the 2026 fee schedule
  scrub837 refdata import taxonomy taxonomy.csv --effective 2026-01-01 --version 26.0";

/// `refdata list -h`.
pub const LIST_SHORT: &str = "Examples:\n  scrub837 refdata list";
/// `refdata list --help`.
pub const LIST_LONG: &str = "\
Examples:
  scrub837 refdata list                         bundled and imported editions with sources
  SCRUB837_DATA=/srv/refdata scrub837 refdata list   editions of another data directory";

/// `generate -h`.
pub const GENERATE_SHORT: &str = "Examples:\n  scrub837 generate --claims 1000 --out big.837";
/// `generate --help`.
pub const GENERATE_LONG: &str = "\
Examples:
  scrub837 generate --claims 100000 --out big.837         a benchmark input
  scrub837 generate --claims 1000 --patients 10 > x.837   100 claims per patient";

/// `completions -h`.
pub const COMPLETIONS_SHORT: &str =
    "Examples:\n  scrub837 completions bash > ~/.local/share/bash-completion/completions/scrub837";
/// `completions --help`.
pub const COMPLETIONS_LONG: &str = "\
Examples:
  scrub837 completions bash > ~/.local/share/bash-completion/completions/scrub837
  scrub837 completions zsh > ~/.zfunc/_scrub837      (with fpath+=~/.zfunc in ~/.zshrc)
  scrub837 completions fish > ~/.config/fish/completions/scrub837.fish
  scrub837 completions powershell >> $PROFILE";

/// `man -h`.
pub const MAN_SHORT: &str = "Examples:\n  scrub837 man | man -l -";
/// `man --help`.
pub const MAN_LONG: &str = "\
Examples:
  scrub837 man | man -l -                       read the page now
  scrub837 man --out ~/.local/share/man/man1    one page per subcommand (scrub837-scrub.1...)";

/// `config -h`.
pub const CONFIG_SHORT: &str = "Examples:\n  scrub837 config --print";
/// `config --help`.
pub const CONFIG_LONG: &str = "\
Examples:
  scrub837 config --print                      the file in effect and every rule's action
  scrub837 config --print --config ours.toml   the same for a given file

A configuration (TOML):
  distinct_service_modifier = \"XU\"  # what T97012-NCCI-97140 appends to 97140
  [payers]                           # payer id (2010BB NM109) = profile
  \"12345\" = \"anthem\"
  [rules]                            # rule id = reject | repair | warn | off, every profile
  T97012-KX = \"warn\"";
