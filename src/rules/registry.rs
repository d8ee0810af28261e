//! The rule registry: every id `rules` lists and `explain` explains, in one place. Claim rules
//! are declared beside their check (a [`RuleInfo`] per rule, listed by [`catalog`]); the X12
//! kinds the reader reports (answered by the TA1 and 999, not by profile actions) are
//! declared here.

use super::{catalog, Rule, RuleInfo};
use crate::diag::Kind;

/// The declaration of an X12 kind: what `explain` says of it and what answers it.
#[derive(Debug)]
pub struct X12Declaration {
    /// The kind; its id is [`Kind::id`].
    pub kind: Kind,
    /// What answers it, for `rules`: `ta1`, `999`, `ta1/999`, or `warn` (answered by nothing).
    pub answered_by: &'static str,
    /// The full text: a one-line summary, a blank line, then what it checks, the answer and how
    /// to fix it.
    pub explain: &'static str,
}

impl X12Declaration {
    /// The catalog id, such as `X12-ISA`.
    pub fn id(&self) -> &'static str {
        self.kind.id()
    }

    /// The first line of the text.
    pub fn summary(&self) -> &'static str {
        self.explain.lines().next().unwrap_or_default()
    }
}

/// A registry entry: a claim rule or an X12 kind.
pub enum Declaration<'a> {
    /// A claim rule, with its check.
    Rule(&'a dyn Rule),
    /// An X12 kind.
    X12(&'static X12Declaration),
}

/// The claim rules (in catalog order) and the X12 kinds.
pub struct Registry {
    rules: Vec<Box<dyn Rule>>,
}

impl Registry {
    /// Every rule of the catalog and every X12 kind.
    pub fn new() -> Registry {
        Registry { rules: catalog() }
    }

    /// The claim rules, in catalog order (the index of a rule here indexes action tables).
    pub fn rules(&self) -> &[Box<dyn Rule>] {
        &self.rules
    }

    /// The declarations of the X12 kinds, in listing order.
    pub fn x12(&self) -> &'static [X12Declaration] {
        &X12_KINDS
    }

    /// The entry with id `id` (any case).
    pub fn find(&self, id: &str) -> Option<Declaration<'_>> {
        if let Some(x12) = X12_KINDS.iter().find(|d| d.id().eq_ignore_ascii_case(id)) {
            return Some(Declaration::X12(x12));
        }
        self.rules
            .iter()
            .find(|r| r.info().id.eq_ignore_ascii_case(id))
            .map(|r| Declaration::Rule(r.as_ref()))
    }

    /// The claim rule's declaration with id `id`, exactly as spelled.
    pub fn info(&self, id: &str) -> Option<&'static RuleInfo> {
        self.rules.iter().map(|r| r.info()).find(|i| i.id == id)
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

/// The X12 kinds the reader reports, with what `explain` says of each; the catalog's X12
/// table in words.
static X12_KINDS: [X12Declaration; 6] = [
    X12Declaration {
        kind: Kind::Isa,
        answered_by: "ta1",
        explain: "\
an ISA field that is not valid or not of its fixed width

What it checks: the interchange header is 106 characters with four distinct delimiters, and
each ISA field has its fixed width and an allowed value (qualifiers, date, time, version,
control number, acknowledgment request, usage indicator). An ISA of the wrong width is still
read, by counting its separators.

Answer: a TA1 with TA104 R and the TA105 note code of the first bad field (for example 006 for
ISA06); the interchange's claims are counted as rejected by the TA1 and go in no other output.
A 4010 standards id in ISA11 gets TA1 E (016): the data inside still frames.

How to fix: pad every ISA field to its fixed width with spaces (ISA02/04 10, ISA06/08 15,
ISA13 9 digits) and use the 5010 values; most translators have a 'fixed-width ISA' setting.
",
    },
    X12Declaration {
        kind: Kind::Control,
        answered_by: "ta1/999",
        explain: "\
envelope counts and control numbers

What it checks: ISA13 = IEA02, GS06 = GE02, ST02 = SE02; IEA01, GE01 and SE01 count what they
close; every ISA, GS and ST is closed; an ISA13 is not repeated from the same sender in one
input, a GS06 within an interchange, an ST02 within a group.

Answer: the TA1 for interchange problems (note codes 001, 021, 022, 023, 024, 025), the 999's
AK9 for a group (AK905), the 999's IK5 for a set (IK502 2, 3, 4, 23).

How to fix: let the translator compute counts and control numbers; never reuse a control
number for a new file.
",
    },
    X12Declaration {
        kind: Kind::Structure,
        answered_by: "999",
        explain: "\
segment order and loops per the 837P grammar

What it checks: every segment of an 837P set is one the 005010X222A1 guide allows where it
stands (segments that share one position, told apart by qualifier, may come in any order);
required segments and loops are present; nothing repeats beyond its maximum; HL and LX numbers
run 1, 2, 3 and every HL parent exists; every CLM sits under a subscriber or patient level.

Answer: the 999 rejects the set: IK3 names the segment (for a missing one, the segment that
was expected and where), IK304 the error, IK5 R; the set's claims are counted as rejected by
the 999.

How to fix: correct the segment order or add the missing segment in the billing system's
export; resubmit the set.
",
    },
    X12Declaration {
        kind: Kind::Element,
        answered_by: "999",
        explain: "\
an element the guide does not allow as sent

What it checks: required elements present, lengths within the element's minimum and maximum,
data types (numbers, dates, times), and code values the guide lists for the element.

Answer: the 999 rejects the set with an IK3 for the segment and an IK4 naming the element,
component and repetition, the data element reference number (IK402), the error (IK403) and a
copy of the bad code (IK404, codes only, never patient data).

How to fix: send the value in the form the 837P guide gives for that element.
",
    },
    X12Declaration {
        kind: Kind::Guide,
        answered_by: "999",
        explain: "\
a transaction set of another guide or version

What it checks: each set is an 837P of 005010X222A1 (or the A2 errata): ST01 837 and ST03 equal
to GS08.

Answer: another guide or version (837I X223, 837D X224, X291, X298, 4010) gets IK5 R with IK502
I6, another transaction IK502 1, an ST03 other than GS08 IK502 19; every CLM inside is counted
as rejected by the 999. A pre-A1 005010X222 set is read with the A1 grammar and only warned:
the A1 errata changed codes and notes, not the loop structure.

How to fix: send professional claims as 005010X222A1 in GS08 and ST03; send other claim types to
a tool for their guide.
",
    },
    X12Declaration {
        kind: Kind::Format,
        answered_by: "warn",
        explain: "\
input read although it is not quite X12 (a warning)

What it checks: a UTF-8 byte-order mark, white space or other bytes before the first ISA (when
an ISA starts within the first 4 KiB), white space, Ctrl-Z or NUL padding after the last
segment, a line feed or carriage return as segment terminator, indentation before segment ids.
Each kind is reported once per input.

Answer: nothing is rejected; the data is read as if it were clean, and the corrected 837P is
written without the extra bytes. UTF-16 text, or junk with no ISA in the first 4 KiB, cannot be
read: a clear error (exit 2).

How to fix: export plain ASCII X12 with a printable segment terminator (usually ~) and no
padding; many payers refuse these files outright.
",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_x12_kind_is_declared_once_in_order() {
        let ids: Vec<&str> = X12_KINDS.iter().map(X12Declaration::id).collect();
        let kinds: Vec<&str> = Kind::X12.iter().map(|k| k.id()).collect();
        assert_eq!(ids, kinds);
    }

    #[test]
    fn find_knows_rules_and_x12_kinds_in_any_case() {
        let registry = Registry::new();
        assert!(
            matches!(registry.find("x12-isa"), Some(Declaration::X12(d)) if d.kind == Kind::Isa)
        );
        assert!(
            matches!(registry.find("t97012-units"), Some(Declaration::Rule(r)) if r.info().id == "T97012-UNITS")
        );
        assert!(registry.find("NOPE").is_none());
    }
}
