//! How `check` and `scrub` talk to a person: the terminal options (`--color`, `-q`, `-v`,
//! `--show-phi`), colour only where it is wanted, correct plurals and dollar amounts.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Effects, Style};

use crate::model::Total;

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the output is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour (ANSI escape codes), even into a file or a pipe.
    Always,
    /// Never colour.
    Never,
}

/// The terminal options `check` and `scrub` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TermArgs {
    /// Colour the diagnostics: auto (only on a terminal, and not when NO_COLOR is set),
    /// always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print only the summaries: no diagnostics, no legend.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print the advice (help and appeal) under every finding instead of once per rule in
    /// the legend at the end.
    #[arg(short, long)]
    pub verbose: bool,
    /// Show patient and subscriber segments (names, member ids, birth dates, addresses) in
    /// the diagnostics' segment snippets (protected health information; hidden by default).
    #[arg(long)]
    pub show_phi: bool,
}

/// The terminal options resolved for one output stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Term {
    /// Styles, or none.
    pub paint: Paint,
    /// Advice under every finding.
    pub verbose: bool,
    /// Summaries only.
    pub quiet: bool,
    /// Person segments shown as read.
    pub show_phi: bool,
}

impl Term {
    /// The options for a stream that is a terminal or not (`is_tty`).
    pub fn new(args: &TermArgs, is_tty: bool) -> Term {
        Term {
            paint: Paint {
                on: wants_color(args.color, is_tty, std::env::var_os("NO_COLOR")),
            },
            verbose: args.verbose,
            quiet: args.quiet,
            show_phi: args.show_phi,
        }
    }

    /// The options for standard output (`check`).
    pub fn for_stdout(args: &TermArgs) -> Term {
        Term::new(args, std::io::stdout().is_terminal())
    }

    /// The options for standard error (`scrub`).
    pub fn for_stderr(args: &TermArgs) -> Term {
        Term::new(args, std::io::stderr().is_terminal())
    }
}

/// Colour or not: `always` and `never` decide; `auto` colours a terminal unless `NO_COLOR`
/// is set to anything but the empty string (<https://no-color.org>).
fn wants_color(choice: ColorChoice, is_tty: bool, no_color: Option<std::ffi::OsString>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_tty && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// What a piece of text is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A rejecting finding or an X12 error.
    Error,
    /// A repair.
    Repair,
    /// A warning.
    Warning,
    /// Good news (`OK`, accepted).
    Good,
    /// Headings and the claim headers.
    Heading,
    /// The gutter, arrows and `=` of a snippet.
    Frame,
    /// The marker under the bad element.
    Marker,
    /// Money.
    Money,
}

impl Role {
    fn style(self) -> Style {
        let color = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Role::Error => color(AnsiColor::BrightRed).effects(Effects::BOLD),
            Role::Repair => color(AnsiColor::BrightYellow).effects(Effects::BOLD),
            Role::Warning => color(AnsiColor::Yellow).effects(Effects::BOLD),
            Role::Good => color(AnsiColor::BrightGreen).effects(Effects::BOLD),
            Role::Heading => Style::new().effects(Effects::BOLD),
            Role::Frame => color(AnsiColor::BrightBlue).effects(Effects::BOLD),
            Role::Marker => color(AnsiColor::BrightRed).effects(Effects::BOLD),
            Role::Money => color(AnsiColor::Cyan),
        }
    }
}

/// Paints text with ANSI styles, or leaves it alone when colour is off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paint {
    /// True when styles are written.
    pub on: bool,
}

impl Paint {
    /// `text` in the colour of `role`.
    pub fn paint(self, role: Role, text: &str) -> String {
        self.painted(role, text).to_string()
    }

    /// Appends to `out` what `write` appends, in the colour of `role`: [`paint`](Self::paint)
    /// of text that is never a `String` of its own (nothing painted when it writes nothing).
    // Inlined: with colour off it is only the call of `write`, a few times per finding
    // formatted, and the closure then folds into its caller.
    #[inline]
    pub fn paint_into(self, role: Role, out: &mut String, write: impl FnOnce(&mut String)) {
        use std::fmt::Write as _;
        if !self.on {
            write(out);
            return;
        }
        let start = out.len();
        let style = role.style();
        // Writing into a String cannot fail.
        let _ = write!(out, "{}", style.render());
        let body = out.len();
        write(out);
        if out.len() == body {
            out.truncate(start);
        } else {
            let _ = write!(out, "{}", style.render_reset());
        }
    }

    /// [`paint`](Self::paint) as a value that writes itself, for `write!` into a buffer
    /// without a `String` of its own.
    pub fn painted(self, role: Role, text: &str) -> Painted<'_> {
        Painted {
            on: self.on,
            role,
            text,
        }
    }
}

/// Text in the colour of a role, as [`Paint::painted`] gives it.
#[derive(Debug, Clone, Copy)]
pub struct Painted<'a> {
    on: bool,
    role: Role,
    text: &'a str,
}

impl std::fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.on || self.text.is_empty() {
            return f.write_str(self.text);
        }
        let style = self.role.style();
        write!(f, "{}{}{}", style.render(), self.text, style.render_reset())
    }
}

/// `n` and the noun, singular for exactly one: `1 claim`, `2 claims`, `0 claims`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `n` with thousands separators: `12,345`.
pub fn thousands(n: impl Into<u128>) -> String {
    let mut out = String::new();
    push_thousands(&mut out, n.into());
    out
}

/// [`thousands`] appended to `out` (no `String` of its own: claims are headed on workers).
fn push_thousands(out: &mut String, n: u128) {
    // u128::MAX has 39 digits.
    let mut digits = [0u8; 39];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        out.push(char::from(digits[i]));
        if i > 0 && i % 3 == 0 {
            out.push(',');
        }
    }
}

/// An exact amount in dollars with thousands separators: `$1,234.56`, `-$0.50`; a claim's
/// [`Cents`] or a [`Total`].
pub fn dollars(amount: impl Into<Total>) -> String {
    let mut out = String::new();
    push_dollars(&mut out, amount);
    out
}

/// [`dollars`] appended to `out`.
pub fn push_dollars(out: &mut String, amount: impl Into<Total>) {
    let amount = amount.into();
    if amount.0 < 0 {
        out.push('-');
    }
    out.push('$');
    let abs = amount.0.unsigned_abs();
    push_thousands(out, abs / 100);
    let cents = (abs % 100) as u8;
    out.push('.');
    out.push(char::from(b'0' + cents / 10));
    out.push(char::from(b'0' + cents % 10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cents;

    #[test]
    fn painting_into_a_buffer_is_painting_a_string() {
        let roles = [Role::Error, Role::Heading, Role::Frame, Role::Money];
        for on in [false, true] {
            let p = Paint { on };
            for role in roles {
                for text in ["", "claim #1", "── a: b · "] {
                    let mut out = String::from("before ");
                    p.paint_into(role, &mut out, |o| o.push_str(text));
                    assert_eq!(
                        out,
                        format!("before {}", p.paint(role, text)),
                        "{on} {role:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn plurals_and_amounts_read_right() {
        assert_eq!(count(1, "claim", "claims"), "1 claim");
        assert_eq!(count(0, "claim", "claims"), "0 claims");
        assert_eq!(count(1234, "claim", "claims"), "1,234 claims");
        assert_eq!(dollars(Cents(123_456_789)), "$1,234,567.89");
        assert_eq!(dollars(Cents(-50)), "-$0.50");
        assert_eq!(dollars(Cents(0)), "$0.00");
        assert_eq!(dollars(Cents(100_000)), "$1,000.00");
        assert_eq!(dollars(Cents(-99_999_999)), "-$999,999.99");
        assert_eq!(thousands(999u64), "999");
        assert_eq!(thousands(1_000u64), "1,000");
        assert_eq!(
            thousands(u128::MAX),
            "340,282,366,920,938,463,463,374,607,431,768,211,455"
        );
        assert_eq!(
            dollars(Total(i128::from(i64::MAX) * 2)),
            "$184,467,440,737,095,516.14"
        );
    }

    #[test]
    fn colour_follows_the_choice_the_terminal_and_no_color() {
        use std::ffi::OsString;
        assert!(wants_color(ColorChoice::Auto, true, None));
        assert!(!wants_color(ColorChoice::Auto, false, None));
        assert!(!wants_color(
            ColorChoice::Auto,
            true,
            Some(OsString::from("1"))
        ));
        assert!(wants_color(ColorChoice::Auto, true, Some(OsString::new())));
        assert!(wants_color(
            ColorChoice::Always,
            false,
            Some(OsString::from("1"))
        ));
        assert!(!wants_color(ColorChoice::Never, true, None));
        let paint = Paint { on: true };
        assert!(paint.paint(Role::Error, "error").starts_with('\u{1b}'));
        assert_eq!(Paint { on: false }.paint(Role::Error, "error"), "error");
    }
}
