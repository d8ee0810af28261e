//! The diagnostics part of `check` and `scrub` on the terminal: findings grouped by claim
//! (one header per claim), each at its real line (and column when it is known), with the
//! segment shown and the bad element marked, rustc-style; advice once per rule in a legend at
//! the end unless `-v`.
//!
//! Protected health information: a segment of the subscriber or patient levels (2000B, 2010BA,
//! 2000C, 2010CA: SBR, PAT, NM1*IL/QC, N3, N4, DMG, REF...) is shown with every value
//! replaced by `###` (`***` where `#` separates elements), the HL and the payer's 2010BB
//! segments excepted; in the other loops the names of any person (NM1 with NM102 `1`),
//! addresses (N3, N4 of the claim's loops: a service location or an ambulance pick-up can be
//! the patient's home), DMG, PAT, medical record numbers (REF*EA), free text (NTE, K3) and
//! patient weights (CR1) are hidden the same way, and a message's copy of a hidden value too.
//! Only `--show-phi` shows them.
//! Repairs of such segments name no values either.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::cli::term::{push_dollars, Role, Term};
use crate::diag::Diagnostic;
use crate::model::stored_index;
use crate::model::{Cents, Claim, SegmentTable};
use crate::pipeline::batch::{ClaimText, TextMark};
use crate::repair::push_decimal;
use crate::rules::{Action, ClaimResult, Finding};
use crate::write::report_jsonl::PHI_HIDDEN;

/// What replaces a hidden value (`***` would melt into the usual `*` element separator).
const HIDDEN: &str = "###";
/// What replaces a hidden value when `#` is the element separator.
const HIDDEN_ALT: &str = "***";

/// Writes the diagnostics of one run, claim by claim, and collects the legend.
pub struct FindingsWriter<W: Write> {
    out: W,
    term: Term,
    /// The advice of each rule seen, for the legend (rule order kept by id).
    legend: BTreeMap<&'static str, Advice>,
    /// True when the last thing written was a header for problems outside claims.
    in_envelope: bool,
    /// The advice and frame of a finding being appended, kept from claim to claim.
    advice_text: String,
    frame_text: String,
}

/// A rule's advice, printed once.
#[derive(Debug, Default)]
struct Advice {
    /// The first help text seen for the rule.
    help: Option<String>,
    /// True when a later finding's help differed (and was printed in place).
    varies: bool,
    /// The rule's appeal texts (a rule can have one per kind of finding).
    appeals: Vec<&'static str>,
}

impl<W: Write> FindingsWriter<W> {
    /// A writer into `out` with the terminal's options.
    pub fn new(out: W, term: Term) -> Self {
        FindingsWriter {
            out,
            term,
            legend: BTreeMap::new(),
            in_envelope: false,
            advice_text: String::new(),
            frame_text: String::new(),
        }
    }

    /// The writer back, to copy what was written.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes the claim's header and diagnostics (nothing for a claim with none); `fate` says
    /// what became of it (`rejected`, `repaired`, `rejected by the 999`...).
    pub fn claim(&mut self, file: &str, result: &ClaimResult, fate: &str) -> io::Result<()> {
        let mut text = ClaimText::default();
        format_claim(self.term, file, result, fate, &mut text);
        self.append_claim(result, &text)
    }

    /// Writes a claim [`format_claim`] formatted apart (on another thread), adding each
    /// finding's advice where its mark says: what advice goes in place depends on the claims
    /// written before (see [`advice`](Self::advice)).
    pub fn append_claim(&mut self, result: &ClaimResult, text: &ClaimText) -> io::Result<()> {
        if text.text.is_empty() {
            return Ok(());
        }
        self.in_envelope = false;
        let p = self.term.paint;
        let mut written = 0;
        let mut advice = std::mem::take(&mut self.advice_text);
        let mut frame_text = std::mem::take(&mut self.frame_text);
        for mark in &text.marks {
            let Some(f) = result.findings.get(mark.finding) else {
                continue;
            };
            self.out.write_all(
                text.text
                    .as_bytes()
                    .get(written..mark.at)
                    .unwrap_or_default(),
            )?;
            written = mark.at;
            advice.clear();
            frame_text.clear();
            push_frame(&mut frame_text, mark.width, p);
            self.advice(f, &frame_text, &mut advice);
            self.out.write_all(advice.as_bytes())?;
        }
        self.advice_text = advice;
        self.frame_text = frame_text;
        self.out
            .write_all(text.text.as_bytes().get(written..).unwrap_or_default())
    }

    /// Writes an envelope or structure problem found outside claims, under one header for
    /// each run of them.
    pub fn problem(&mut self, file: &str, d: &Diagnostic) -> io::Result<()> {
        if !self.in_envelope {
            let header = format!("── {file}: envelope and structure (outside claims) ──");
            writeln!(
                self.out,
                "\n{}",
                self.term.paint.paint(Role::Heading, &header)
            )?;
            self.in_envelope = true;
        }
        let mut text = String::new();
        problem_text(self.term, file, None, d, &mut text);
        self.out.write_all(text.as_bytes())
    }

    /// Takes in the legend of another writer (inputs written apart, in parallel): each rule
    /// once, its appeals together, its help marked as varying when the two differ.
    pub fn absorb_legend<V: Write>(&mut self, other: &FindingsWriter<V>) {
        for (rule, theirs) in &other.legend {
            let ours = self.legend.entry(rule).or_default();
            match (&ours.help, &theirs.help) {
                (None, help) => ours.help = help.clone(),
                (Some(a), Some(b)) if a != b => ours.varies = true,
                _ => {}
            }
            ours.varies |= theirs.varies;
            for appeal in &theirs.appeals {
                if !ours.appeals.contains(appeal) {
                    ours.appeals.push(appeal);
                }
            }
        }
    }

    /// The legend: each rule's advice once (empty with `-v`, which prints it in place).
    pub fn legend(&self) -> String {
        if self.term.verbose || self.legend.is_empty() {
            return String::new();
        }
        let p = self.term.paint;
        let mut text = format!(
            "\n{}\n",
            p.paint(
                Role::Heading,
                "legend: how to fix and how to appeal, once per rule (-v prints it under every finding)"
            )
        );
        for (rule, advice) in &self.legend {
            text.push_str(&format!("[{}]\n", p.paint(Role::Heading, rule)));
            match (&advice.help, advice.varies) {
                (Some(help), false) => text.push_str(&wrap("  help: ", help)),
                (Some(help), true) => text.push_str(&wrap(
                    "  help: ",
                    &format!("{help} (for its first finding; the others show their own)"),
                )),
                (None, _) => {}
            }
            for appeal in &advice.appeals {
                text.push_str(&wrap("  appeal: ", appeal));
            }
        }
        text
    }

    /// The help and appeal of a finding: in place with `-v`; otherwise the legend keeps each
    /// rule's appeal and its help text, and only a help that differs from the one the legend
    /// holds for the rule (help written with this claim's values) is printed in place.
    fn advice(&mut self, f: &Finding, frame: &str, text: &mut String) {
        if self.term.verbose {
            if !f.help.is_empty() {
                text.push_str(&format!("{frame} help: {}\n", f.help));
            }
            if let Some(appeal) = f.appeal {
                text.push_str(&format!("{frame} appeal: {appeal}\n"));
            }
            return;
        }
        if f.help.is_empty() && f.appeal.is_none() {
            return;
        }
        let advice = self.legend.entry(f.rule).or_default();
        if let Some(appeal) = f.appeal.filter(|a| !advice.appeals.contains(a)) {
            advice.appeals.push(appeal);
        }
        if f.help.is_empty() {
            return;
        }
        match &advice.help {
            None => advice.help = Some(f.help.to_string()),
            Some(kept) if *kept == *f.help => {}
            Some(_) => {
                advice.varies = true;
                text.push_str(&format!("{frame} help: {}\n", f.help));
            }
        }
    }
}

/// Bytes [`format_claim`] makes room for at first: for the claim's heading, and for each
/// finding or problem (its heading, snippet and notes are a few hundred bytes).
const TEXT_HEAD: usize = 256;
/// See [`TEXT_HEAD`].
const TEXT_PER_ITEM: usize = 512;

/// Formats what the terminal shows of a claim into `out`: its header and diagnostics
/// (nothing for a claim with none), `fate` saying what became of it (`rejected`,
/// `repaired`, `rejected by the 999`...). The place of each finding's advice is marked, for
/// [`FindingsWriter::append_claim`]. Needs no writer: workers format claims in parallel.
pub fn format_claim(term: Term, file: &str, result: &ClaimResult, fate: &str, out: &mut ClaimText) {
    if result.findings.is_empty() && result.problems.is_empty() {
        return;
    }
    let claim = &result.claim;
    let p = term.paint;
    let role = match fate {
        "accepted" => Role::Good,
        "repaired" => Role::Repair,
        _ => Role::Error,
    };
    let text = &mut out.text;
    // Room for the usual text at once (a heading, then a few hundred bytes a finding): grown
    // push by push from empty, the text was reallocated about seven times a claim.
    let items = result.findings.len() + result.problems.len();
    text.reserve(TEXT_HEAD + TEXT_PER_ITEM * items);
    text.push('\n');
    // Pushed piece by piece, not `write!`: every claim with findings is headed.
    p.paint_into(Role::Heading, text, |t| {
        t.push_str("── ");
        t.push_str(file);
        t.push_str(": claim #");
        push_decimal(t, claim.ordinal);
        t.push_str(" · PCN ");
        t.push_str(claim.pcn());
        t.push_str(" · profile ");
        t.push_str(result.profile);
        t.push_str(" · ");
    });
    p.paint_into(role, text, |t| t.push_str(fate));
    p.paint_into(Role::Heading, text, |t| {
        t.push_str(" · charges ");
        match claim.total_charge.cents() {
            Some(cents) => push_dollars(t, cents),
            None => {
                t.push('\'');
                t.push_str(&claim.total_charge.raw);
                t.push_str("' (not exact)");
            }
        }
        t.push_str(" ──");
    });
    text.push('\n');
    let mut add = |item: Item<'_>| match item {
        Item::Problem(d) => problem_text(term, file, Some(claim), d, &mut out.text),
        Item::Finding(i, f) => {
            let width = finding_text(term, file, result, f, &mut out.text);
            out.marks.push(TextMark {
                at: out.text.len(),
                finding: i,
                width,
            });
        }
    };
    let findings = result.findings.iter().enumerate();
    let in_order = |f: &[Finding]| f.windows(2).all(|w| w[0].at.segment <= w[1].at.segment);
    if result.problems.is_empty() && in_order(&result.findings) {
        // The usual claim: findings alone, already in segment order (what the sort below
        // leaves them in), with no list made.
        findings.for_each(|(i, f)| add(Item::Finding(i, f)));
        return;
    }
    let mut items: Vec<Item<'_>> = result
        .problems
        .iter()
        .map(Item::Problem)
        .chain(findings.map(|(i, f)| Item::Finding(i, f)))
        .collect();
    items.sort_by_key(|i| i.diagnostic().at.segment);
    items.into_iter().for_each(add);
}

/// One rule finding, appended to `text`: location and message, the marked segment and
/// notes. Returns the indentation of its `=` lines, for its advice (see
/// [`FindingsWriter::advice`]).
fn finding_text(
    term: Term,
    file: &str,
    result: &ClaimResult,
    f: &Finding,
    text: &mut String,
) -> usize {
    let claim = &result.claim;
    let p = term.paint;
    let (level, role) = match f.action {
        Action::Reject => ("error", Role::Error),
        Action::Repair => ("repair", Role::Repair),
        Action::Warn | Action::Off => ("warning", Role::Warning),
    };
    let shown = Snippet::find(claim, f.at.segment, term.show_phi);
    let mark = shown.as_ref().map(|s| s.mark(f.at.element, f.at.component));
    heading(file, shown.as_ref().zip(mark), f, level, role, p, text);
    if let (Some(s), Some(mark)) = (&shown, mark) {
        s.render(f.at.element, f.at.component, mark, p, text);
    }
    let width = indent_width(shown.as_ref());
    match f.note_text() {
        Some(_) => {
            push_frame(text, width, p);
            text.push_str(" note: ");
            crate::write::push_note_text(text, f);
            text.push('\n');
        }
        None => {
            if let Some(n) = f
                .line
                .and_then(|i| claim.lines.get(i))
                .and_then(|l| l.number.value)
            {
                push_frame(text, width, p);
                text.push_str(" note: loop 2400 (LX ");
                push_decimal(text, u64::from(n));
                text.push_str(")\n");
            }
        }
    }
    if let Some(r) = &f.repair {
        let verb = if result.disposition == crate::rules::Disposition::Rejected {
            "would repair"
        } else {
            "repaired"
        };
        let hidden =
            !term.show_phi && Snippet::find(claim, r.at.segment, false).is_some_and(|s| s.masked);
        push_frame(text, width, p);
        text.push(' ');
        text.push_str(verb);
        text.push_str(": ");
        if hidden {
            text.push_str(PHI_HIDDEN);
        } else {
            text.push('\'');
            text.push_str(&r.old);
            text.push_str("' -> '");
            text.push_str(&r.new);
            text.push('\'');
        }
        text.push('\n');
    }
    if let Some(m) = f.money_at_stake.map(Cents) {
        push_frame(text, width, p);
        text.push_str(" Medicare amount at stake: ");
        p.paint_into(Role::Money, text, |t| push_dollars(t, m));
        text.push('\n');
    }
    width
}

/// An X12 problem (element, structure, envelope), with its segment when it is one of the
/// claim's, appended to `text`.
fn problem_text(term: Term, file: &str, claim: Option<&Claim>, d: &Diagnostic, text: &mut String) {
    let p = term.paint;
    let (level, role) = if d.is_error() {
        ("error", Role::Error)
    } else {
        ("warning", Role::Warning)
    };
    let shown = claim.and_then(|c| Snippet::find(c, d.at.segment, term.show_phi));
    let mark = shown.as_ref().map(|s| s.mark(d.at.element, d.at.component));
    heading(file, shown.as_ref().zip(mark), d, level, role, p, text);
    if let (Some(s), Some(mark)) = (&shown, mark) {
        s.render(d.at.element, d.at.component, mark, p, text);
    }
    let at = &d.at;
    push_frame(text, indent_width(shown.as_ref()), p);
    text.push_str(" note: segment ");
    push_decimal(text, at.segment);
    text.push_str(" (");
    text.push_str(&at.segment_id);
    text.push_str("), byte ");
    push_decimal(text, at.byte);
    text.push_str(", line ");
    push_decimal(text, at.line);
    if at.set_segment > 0 {
        text.push_str(", segment ");
        push_decimal(text, u64::from(at.set_segment));
        text.push_str(" of its transaction set");
    }
    if let Some(e) = at.element {
        text.push_str(", element ");
        push_two_digits(text, e);
    }
    text.push('\n');
}

/// The token that replaces a hidden value in a segment whose element separator is
/// `separator`.
fn hidden_token(separator: u8) -> &'static str {
    if separator == b'#' {
        HIDDEN_ALT
    } else {
        HIDDEN
    }
}

/// True for an element shown hidden.
fn is_hidden(value: &str) -> bool {
    value == HIDDEN || value == HIDDEN_ALT
}

/// The indentation of the `=` lines: under the snippet's gutter bar.
fn indent_width(shown: Option<&Snippet>) -> usize {
    shown.map_or(2, |s| decimal_digits(s.line)) + 1
}

/// Appends the start of a finding's `=` lines, indented `width` (inlined: a few pushes,
/// made for every line of a finding's notes).
#[inline]
fn push_frame(out: &mut String, width: usize, p: crate::cli::term::Paint) {
    push_spaces(out, width);
    p.paint_into(Role::Frame, out, |o| o.push('='));
}

/// Appends `n` at least two digits wide, as `{n:02}` formats it.
fn push_two_digits(out: &mut String, n: u8) {
    if n < 10 {
        out.push('0');
    }
    push_decimal(out, u64::from(n));
}

/// A claim's problem or finding, to sort them together by position.
enum Item<'a> {
    Problem(&'a Diagnostic),
    /// A finding and its index in the claim's findings.
    Finding(usize, &'a Finding),
}

impl Item<'_> {
    fn diagnostic(&self) -> &Diagnostic {
        match self {
            Item::Problem(d) | Item::Finding(_, d) => d,
        }
    }
}

/// `FILE:LINE[:COLUMN]: level[RULE]: message`, appended to `out`: the real line of the
/// segment (the reader's line count), or the segment number when the segment is not at hand.
/// `shown`: the snippet shown, and where it marks the diagnostic's element.
fn heading(
    file: &str,
    shown: Option<(&Snippet, Mark)>,
    d: &Diagnostic,
    level: &str,
    role: Role,
    p: crate::cli::term::Paint,
    out: &mut String,
) {
    p.paint_into(Role::Heading, out, |o| {
        o.push_str(file);
        match shown {
            Some((s, mark)) => {
                o.push(':');
                push_decimal(o, s.line);
                if let Some(col) = mark.column {
                    o.push(':');
                    push_decimal(o, col);
                }
            }
            None if d.at.line > 0 => {
                o.push(':');
                push_decimal(o, d.at.line);
            }
            None => {
                o.push_str(": segment ");
                push_decimal(o, d.at.segment);
            }
        }
    });
    out.push_str(": ");
    p.paint_into(role, out, |o| {
        o.push_str(level);
        o.push('[');
        o.push_str(d.rule);
        o.push(']');
    });
    out.push_str(": ");
    let message = match shown {
        Some((s, _)) => s.hide_in(&d.message, d.at.element, d.bad_value.as_deref()),
        None => Cow::Borrowed(&*d.message),
    };
    p.paint_into(Role::Heading, out, |o| o.push_str(&message));
    out.push('\n');
}

/// Where a [`Snippet`] marks an element ([`Snippet::mark`]).
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// The 1-based column of the element in the input line, when the segment's is known.
    column: Option<u64>,
    /// Characters before the marked ones in the segment as shown.
    start: usize,
    /// How many characters are marked.
    width: usize,
}

/// One segment of a claim as shown: its elements (hidden ones as `###`), where it is, and
/// where each element starts in the input line.
struct Snippet<'a> {
    /// 1-based line of the segment id in the input.
    line: u64,
    /// 1-based column of the segment id in its line, when known: on line 1 (the byte offset
    /// says it) or after a segment of the same claim that ends its line.
    column: Option<u64>,
    /// The id and elements as read (borrowed from the claim unless bad bytes were replaced).
    real: Vec<Cow<'a, str>>,
    /// The segment as read (its elements joined), when it is valid UTF-8.
    text: Option<&'a str>,
    /// True when the segment is ASCII: its elements' bytes are characters (as are the hidden
    /// tokens').
    ascii: bool,
    /// Which elements are shown as the hidden token (see [`Snippet::part`]): bit `k` for
    /// element `k` below 64.
    hidden: u64,
    /// True when the elements from 64 on are hidden (the rules single out only the first
    /// few elements, so they all are hidden as element 64 is).
    hidden_beyond: bool,
    separators: (char, char, char),
    /// True when any value is hidden.
    masked: bool,
}

impl<'a> Snippet<'a> {
    /// The segment numbered `segment` among the claim's and its levels', hidden as the PHI
    /// rules say unless `show_phi`.
    fn find(claim: &'a Claim, segment: u64, show_phi: bool) -> Option<Snippet<'a>> {
        let source = &claim.source;
        let tables: [(Option<&SegmentTable>, Zone); 4] = [
            (Some(&source.segments), Zone::Claim),
            (Some(&*source.billing), Zone::Billing),
            (Some(&*source.subscriber), Zone::Person),
            (
                source.patient.as_deref().map(|level| &**level),
                Zone::Person,
            ),
        ];
        for (table, zone) in tables {
            let Some(table) = table else { continue };
            let stored = table.stored();
            let Some(i) = stored_index(stored, segment) else {
                continue;
            };
            let seg = table.get(i);
            let d = seg.delimiters();
            let (real, text) = elements(seg.body(), d.element);
            let loop_id =
                crate::grammar::compiled_x222().loop_id(usize::from(stored[i].loop_index));
            let zone = match zone {
                Zone::Person if loop_id == "2010BB" => Zone::Payer,
                other => other,
            };
            let hide = hidden_elements(&real, zone);
            let shows_token = |k: usize| !show_phi && hide(k) && !real[k].is_empty();
            let hidden_beyond = !show_phi && hide(64);
            let token = hidden_token(d.element);
            // One pass over the elements for both: which show the token, and whether any
            // hides a value (one that is not the token already).
            let mut hidden = 0u64;
            let mut masked = false;
            for k in (0..real.len()).filter(|&k| shows_token(k)) {
                if k < 64 {
                    hidden |= 1 << k;
                }
                masked |= real[k] != token;
            }
            let position = seg.position();
            let column = if position.line == 1 {
                Some(position.byte + 1)
            } else {
                column_after_line_break(table, i, seg.body_start())
            };
            return Some(Snippet {
                line: position.line,
                column,
                real,
                text,
                ascii: text.is_some_and(str::is_ascii),
                hidden,
                hidden_beyond,
                separators: (
                    char::from(d.element),
                    char::from(d.component),
                    char::from(d.segment),
                ),
                masked,
            });
        }
        None
    }

    /// Element `k` (0 is the id; below `real.len()`) as read, or as shown when `shown`: the
    /// hidden token in place of a hidden value.
    fn part(&self, k: usize, shown: bool) -> &str {
        let hidden = if k < 64 {
            self.hidden & 1 << k != 0
        } else {
            self.hidden_beyond && !self.real[k].is_empty()
        };
        if shown && hidden {
            hidden_token(self.separators.0 as u8)
        } else {
            &self.real[k]
        }
    }

    /// Characters before element `element` (and component `component`) in the elements as
    /// read (or as shown, when `shown`), and the width of what is marked; the whole segment
    /// for none.
    fn span(&self, shown: bool, element: Option<u8>, component: Option<u8>) -> (usize, usize) {
        let parts = || (0..self.real.len()).map(|k| self.part(k, shown));
        let chars = |text: &str| {
            if self.ascii {
                text.len()
            } else {
                text.chars().count()
            }
        };
        let Some(e) = element.map(usize::from).filter(|&e| e > 0) else {
            let all: usize = parts().map(chars).sum::<usize>() + self.real.len() - 1;
            return (0, all.max(1));
        };
        let before: usize = parts().take(e).map(|p| chars(p) + 1).sum();
        let Some(value) = (e < self.real.len()).then(|| self.part(e, shown)) else {
            // An element past the last one written: point just after the segment.
            return (before.saturating_sub(1) + 1, 1);
        };
        match component.map(usize::from).filter(|&c| c > 0) {
            Some(c) if !is_hidden(value) => {
                let mut offset = 0;
                for (k, part) in value.split(self.separators.1).enumerate() {
                    if k + 1 == c {
                        return (before + offset, chars(part).max(1));
                    }
                    offset += chars(part) + 1;
                }
                (before + chars(value), 1)
            }
            _ => (before, chars(value).max(1)),
        }
    }

    /// `message` with the hidden values of this segment it quotes (the bad element's value,
    /// the problem's copy of bad data) replaced by `###`.
    fn hide_in<'m>(
        &self,
        message: &'m str,
        element: Option<u8>,
        bad_value: Option<&str>,
    ) -> Cow<'m, str> {
        if !self.masked {
            return Cow::Borrowed(message);
        }
        let bad_element = element
            .map(usize::from)
            .filter(|&e| e < self.real.len() && is_hidden(self.part(e, true)))
            .and_then(|e| self.real.get(e))
            .map(|value| &**value);
        let mut text = message.to_string();
        for value in [bad_value, bad_element].into_iter().flatten() {
            if !value.is_empty() {
                text = text.replace(value, hidden_token(self.separators.0 as u8));
            }
        }
        Cow::Owned(text)
    }

    /// Where the snippet marks element `element` (and component `component`): its column in
    /// the input line and the characters marked in the segment as shown. One span serves
    /// both when nothing is masked: then every element shows as read (an element shown
    /// hidden then holds the hidden token itself, and the elements from 64 on are hidden
    /// as element 64 is).
    fn mark(&self, element: Option<u8>, component: Option<u8>) -> Mark {
        let (start, width) = self.span(true, element, component);
        let (offset, _) = if self.masked {
            self.span(false, element, component)
        } else {
            (start, width)
        };
        Mark {
            column: self.column.map(|c| c + offset as u64),
            start,
            width,
        }
    }

    /// The segment under a gutter with its line number, the element marked below it (as
    /// `mark` says), appended to `out`.
    fn render(
        &self,
        element: Option<u8>,
        component: Option<u8>,
        mark: Mark,
        p: crate::cli::term::Paint,
        out: &mut String,
    ) {
        let digits = decimal_digits(self.line);
        let Mark { start, width, .. } = mark;
        let bar = |out: &mut String| p.paint_into(Role::Frame, out, |o| o.push('|'));
        push_spaces(out, digits);
        out.push(' ');
        bar(out);
        out.push('\n');
        p.paint_into(Role::Frame, out, |o| push_decimal(o, self.line));
        out.push(' ');
        bar(out);
        out.push(' ');
        match self.text.filter(|_| !self.masked) {
            // Nothing hidden: the elements as shown are the segment as read.
            Some(text) => out.push_str(text),
            None => {
                for k in 0..self.real.len() {
                    if k > 0 {
                        out.push(self.separators.0);
                    }
                    out.push_str(self.part(k, true));
                }
            }
        }
        out.push(self.separators.2);
        out.push('\n');
        push_spaces(out, digits);
        out.push(' ');
        bar(out);
        out.push(' ');
        push_spaces(out, start);
        p.paint_into(Role::Marker, out, |o| {
            push_run(o, CARETS, width);
            if let Some(e) = element.filter(|&e| e > 0) {
                let id = if self.real.is_empty() {
                    ""
                } else {
                    self.part(0, true)
                };
                o.push(' ');
                o.push_str(id);
                push_two_digits(o, e);
                if let Some(c) = component.filter(|&c| c > 0) {
                    o.push('-');
                    push_decimal(o, u64::from(c));
                }
            }
        });
        out.push('\n');
        if self.masked {
            push_spaces(out, digits);
            out.push(' ');
            push_frame(out, 0, p);
            out.push_str(
                " note: values hidden (protected health information; --show-phi shows them)\n",
            );
        }
    }
}

/// The id and elements of a segment's `body` (split at `separator`), borrowed unless bad bytes
/// are replaced (as `from_utf8_lossy` of each would make them); and the body as text when it
/// is the elements joined again (valid UTF-8 and an ASCII separator).
fn elements(body: &[u8], separator: u8) -> (Vec<Cow<'_, str>>, Option<&str>) {
    // Room for every element of a usual segment at once, without a pass to count the
    // separators first: bodies rarely hold more separators than other bytes.
    let mut parts = Vec::with_capacity(body.len() / 2 + 2);
    match std::str::from_utf8(body) {
        // The usual segment: cut where the (ASCII) separators are, with one look at the
        // bytes for UTF-8 rather than one per element.
        Ok(text) if separator.is_ascii() => {
            let mut start = 0;
            for (i, &b) in body.iter().enumerate() {
                if b == separator {
                    parts.push(Cow::Borrowed(&text[start..i]));
                    start = i + 1;
                }
            }
            parts.push(Cow::Borrowed(&text[start..]));
            (parts, Some(text))
        }
        _ => {
            parts.extend(body.split(|&b| b == separator).map(String::from_utf8_lossy));
            (parts, None)
        }
    }
}

/// How many digits `n` has in decimal.
fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Appends `n` spaces.
fn push_spaces(out: &mut String, n: usize) {
    push_run(out, SPACES, n);
}

/// A run of spaces, for [`push_run`].
const SPACES: &str = "                                                                ";
/// A run of carets (the marker under an element), for [`push_run`].
const CARETS: &str = "^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^";

/// Appends `n` copies of the one ASCII character `run` repeats: slices of it copied at
/// once, not `n` characters pushed one by one (each snippet has a few such runs).
fn push_run(out: &mut String, run: &'static str, n: usize) {
    let mut left = n;
    while left > 0 {
        let take = left.min(run.len());
        let Some(part) = run.get(..take) else { return };
        out.push_str(part);
        left -= take;
    }
}

/// Where a segment belongs, for what it may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// The 2300 loop and everything under it.
    Claim,
    /// The billing provider's level (2000A, 2010AA-AC): a business, its address may show.
    Billing,
    /// The subscriber's or patient's levels (2000B, 2010BA, 2000C, 2010CA).
    Person,
    /// The payer's 2010BB, inside the subscriber's level.
    Payer,
}

/// Which elements of a segment (by index; 0 is the id) hold personal data: every value of a
/// subscriber or patient segment but the HL's; elsewhere the names of a person (and an
/// NM1*IL/QC's id), DMG and PAT, medical record numbers (REF*EA), free text (NTE, K3) and
/// weights (CR1), and the addresses (N3, N4) of the claim's loops (a service location or an
/// ambulance pick-up can be the patient's home).
fn hidden_elements(parts: &[Cow<'_, str>], zone: Zone) -> impl Fn(usize) -> bool {
    let id = parts.first().map_or("", |id| &**id);
    let element = |k: usize| parts.get(k).map_or("", |e| &**e);
    let address = matches!(id, "N3" | "N4") && zone == Zone::Claim;
    let everything = (zone == Zone::Person && id != "HL") || address || matches!(id, "DMG" | "PAT");
    let patient_nm1 = id == "NM1" && matches!(element(1), "IL" | "QC");
    let person_nm1 = id == "NM1" && (element(2) == "1" || patient_nm1);
    let record = id == "REF" && element(1) == "EA";
    // NTE01 and the CR1's codes and units stay: they say what kind of note or weight it is.
    let free_text = match id {
        "NTE" => Some(2),
        "K3" => Some(1),
        _ => None,
    };
    let weight = id == "CR1";
    move |k: usize| {
        k > 0
            && (everything
                || (person_nm1 && (3..=7).contains(&k))
                || (patient_nm1 && k == 9)
                || (record && k == 2)
                || free_text == Some(k)
                || (weight && k == 2))
    }
}

/// The 1-based column of the id of segment `i` of `table` when an earlier segment of the
/// table ends its line (the segments of a table are consecutive in the input): the bytes
/// since that line break, indentation included. `body_start`: where segment `i`'s body
/// starts in its raw bytes (the caller has the segment at hand).
fn column_after_line_break(table: &SegmentTable, i: usize, body_start: usize) -> Option<u64> {
    let mut before = body_start as u64;
    for j in (0..i).rev() {
        let raw = table.get(j).raw();
        if raw.ends_with(b"\n") || raw.ends_with(b"\r") {
            return Some(before + 1);
        }
        before += raw.len() as u64;
    }
    None
}

/// `text` after `lead`, wrapped at 100 columns with following lines indented like the first.
fn wrap(lead: &str, text: &str) -> String {
    const WIDTH: usize = 100;
    let indent = " ".repeat(lead.chars().count());
    let mut out = String::from(lead);
    let mut column = lead.chars().count();
    for (i, word) in text.split_whitespace().enumerate() {
        let w = word.chars().count();
        if i > 0 && column + 1 + w > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            column = indent.len();
        } else if i > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += w;
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<Cow<'_, str>> {
        text.split('*').map(Cow::Borrowed).collect()
    }

    #[test]
    fn person_segments_hide_every_value_but_the_hl() {
        let nm1 = parts("NM1*IL*1*DOE*JANE****MI*SYN123");
        let hide = hidden_elements(&nm1, Zone::Person);
        assert!((1..nm1.len()).all(&hide));
        assert!(!hide(0));
        let hl = parts("HL*2*1*22*0");
        assert!(!(1..hl.len()).any(hidden_elements(&hl, Zone::Person)));
    }

    #[test]
    fn elsewhere_person_names_and_addresses_are_hidden_and_npis_kept() {
        let rendering = parts("NM1*82*1*SMITH*ANN****XX*1234567893");
        let hide = hidden_elements(&rendering, Zone::Claim);
        assert!((3..=7).all(&hide));
        assert!(!hide(1) && !hide(2) && !hide(8) && !hide(9));
        let facility = parts("NM1*77*2*CLINIC*****XX*1234567893");
        assert!(!(1..facility.len()).any(hidden_elements(&facility, Zone::Claim)));
        let n3 = parts("N3*1 MAIN ST");
        assert!(hidden_elements(&n3, Zone::Claim)(1));
        assert!(!hidden_elements(&n3, Zone::Billing)(1));
        assert!(!hidden_elements(&n3, Zone::Payer)(1));
        assert!(hidden_elements(&n3, Zone::Person)(1));
        let sv1 = parts("SV1*HC:97110*100*UN*5");
        assert!(!(1..sv1.len()).any(hidden_elements(&sv1, Zone::Claim)));
    }

    #[test]
    fn runs_are_the_characters_repeated() {
        for n in [0, 1, 2, 7, 63, 64, 65, 127, 128, 129, 300, 1000] {
            for (run, c) in [(SPACES, ' '), (CARETS, '^')] {
                let mut out = String::from("é\t");
                push_run(&mut out, run, n);
                let expected: String = "é\t".chars().chain(std::iter::repeat_n(c, n)).collect();
                assert_eq!(out, expected, "{n} of {c:?}");
            }
        }
        assert!(SPACES.bytes().all(|b| b == b' ') && CARETS.bytes().all(|b| b == b'^'));
    }

    #[test]
    fn long_advice_wraps_under_its_label() {
        let text = wrap("  help: ", &"word ".repeat(40));
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("        word")));
    }
}
