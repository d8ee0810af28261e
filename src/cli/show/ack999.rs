//! A 999 implementation acknowledgment as text: each acknowledged set accepted or rejected,
//! its segment errors (IK3) and element errors (IK4) with their descriptions, and the group's
//! answer (AK9).

use std::fmt::Write as _;

use super::codes;
use super::{Segment, ShowOptions, Shown};

/// Segments whose bad-value copies (IK404) may hold a person's name, id, birth date or
/// address; their copies are shown only with `--show-phi`.
const PERSONAL_SEGMENTS: [&str; 6] = ["NM1", "N3", "N4", "DMG", "REF", "PER"];

/// Describes one 999 set (`set` runs from ST to SE).
pub(super) fn describe(set: &[&Segment], options: ShowOptions, shown: &mut Shown) {
    let st = set[0];
    let _ = writeln!(shown.text, "  999 set {} ({})", st.el(2), st.el(3));
    // The IK3 being described, for the PHI policy of its IK4s.
    let mut segment_id = String::new();
    for segment in &set[1..] {
        match segment.id() {
            "AK1" => {
                let _ = writeln!(
                    shown.text,
                    "    acknowledges group {} {} ({})",
                    segment.el(1),
                    segment.el(2),
                    segment.el(3)
                );
            }
            "AK2" => {
                let _ = writeln!(
                    shown.text,
                    "    set {} ({} {}):",
                    segment.el(2),
                    segment.el(1),
                    segment.el(3)
                );
            }
            "IK3" => {
                segment_id = segment.el(1).to_string();
                let loop_id = match segment.el(3) {
                    "" => String::new(),
                    id => format!(" (loop {id})"),
                };
                let _ = writeln!(
                    shown.text,
                    "      segment {} at position {}{loop_id}: {}",
                    segment.el(1),
                    segment.el(2),
                    codes::IK304.describe(segment.el(4))
                );
            }
            "CTX" => describe_context(segment, shown),
            "IK4" => describe_element(segment, &segment_id, options, shown),
            "IK5" => {
                shown.rejects |= segment.el(1) == "R";
                let _ = writeln!(
                    shown.text,
                    "      set answer: {}{}",
                    codes::ACK.describe(segment.el(1)),
                    error_list(segment, 2..=6, codes::IK502)
                );
            }
            "AK9" => {
                shown.rejects |= matches!(segment.el(1), "R" | "P");
                let _ = writeln!(
                    shown.text,
                    "    group answer: {}; {} sets included, {} received, {} accepted{}",
                    codes::ACK.describe(segment.el(1)),
                    segment.el(2),
                    segment.el(3),
                    segment.el(4),
                    error_list(segment, 5..=9, codes::AK905)
                );
            }
            _ => {}
        }
    }
}

/// `; errors: 5 One or more segments in error, ...` for the codes in elements `range`.
fn error_list(
    segment: &Segment,
    range: std::ops::RangeInclusive<usize>,
    list: codes::CodeList,
) -> String {
    let described: Vec<String> = range
        .map(|n| segment.el(n))
        .filter(|code| !code.is_empty())
        .map(|code| list.describe(code))
        .collect();
    if described.is_empty() {
        String::new()
    } else {
        format!("; errors: {}", described.join(", "))
    }
}

/// A CTX: the claim (CLM01) a segment error belongs to, or the segment context.
fn describe_context(ctx: &Segment, shown: &mut Shown) {
    let identifier = ctx.components(1);
    let text = if identifier.first() == Some(&"CLM01") {
        format!("claim {}", identifier.get(1).copied().unwrap_or(""))
    } else {
        let mut parts = vec![ctx.el(1).to_string()];
        if !ctx.el(2).is_empty() {
            parts.push(format!("segment {} at position {}", ctx.el(2), ctx.el(3)));
        }
        parts.join(", ")
    };
    let _ = writeln!(shown.text, "        context: {text}");
}

/// An IK4: the element (with component and repetition), its reference number, the error and
/// the copy of the bad value when it may be shown.
fn describe_element(ik4: &Segment, segment_id: &str, options: ShowOptions, shown: &mut Shown) {
    let position = ik4.components(1);
    let mut name = format!(
        "{segment_id}{:0>2}",
        position.first().copied().unwrap_or("")
    );
    if let Some(component) = position.get(1).filter(|c| !c.is_empty()) {
        name.push_str(&format!("-{component}"));
    }
    if let Some(repetition) = position.get(2).filter(|r| !r.is_empty()) {
        name.push_str(&format!(" (repetition {repetition})"));
    }
    let reference = match ik4.el(2) {
        "" => String::new(),
        r => format!(" (element {r})"),
    };
    let bad = match ik4.el(4) {
        "" => String::new(),
        _ if !options.show_phi && PERSONAL_SEGMENTS.contains(&segment_id) => {
            "; bad value hidden (--show-phi shows it)".to_string()
        }
        value => format!("; bad value '{value}'"),
    };
    let _ = writeln!(
        shown.text,
        "        element {name}{reference}: {}{bad}",
        codes::IK403.describe(ik4.el(3))
    );
}
