//! The 999 and TA1 writers, checked by counting and by pyx12's validator.
//!
//! pyx12 4.0.0 comes from `$PYX12_VENV` when set, else from `target/pyx12-venv`, which the
//! test creates (`python3 -m venv`, `pip install pyx12==4.0.0`) on first use. Without network
//! access that set-up fails with a message saying so; the test is never skipped.

use std::process::Command;

mod common;

use common::pyx12::x12valid;
use scrub837::diag::{Diagnostic, Kind, Location, Severity};
use scrub837::write::ack999::{self, ClaimContext, GroupAck, SetAck};
use scrub837::write::ta1::{self, Ta1};
use scrub837::write::AckEnvelope;
use scrub837::x12::Delimiters;

fn envelope(delimiters: Delimiters, line_break: bool) -> AckEnvelope {
    AckEnvelope {
        sender_qualifier: "ZZ".into(),
        sender_id: "CLEARINGHOUSE".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "SUBMITTER".into(),
        application_sender: "CLEARHOUSE".into(),
        application_receiver: "SUBMITAPP".into(),
        interchange_control: 42,
        group_control: 7,
        created: chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
            .and_then(|d| d.and_hms_opt(10, 30, 0))
            .expect("a real date"),
        usage: 'T',
        delimiters,
        line_break,
    }
}

fn problem(
    rule: &'static str,
    segment_id: &str,
    set_segment: u32,
    element: Option<u8>,
    code: Option<&'static str>,
    message: &str,
) -> Diagnostic {
    let kind = Kind::from_id(rule).unwrap_or_else(|| panic!("{rule} is no X12 kind"));
    let at = Location {
        set_segment,
        segment_id: segment_id.into(),
        element,
        ..Location::default()
    };
    Diagnostic {
        code,
        ..Diagnostic::x12(kind, at, message.to_string())
    }
}

/// `p` with the loop id and bad value the reader fills in.
fn with(mut p: Diagnostic, loop_id: Option<&'static str>, bad_value: Option<&str>) -> Diagnostic {
    p.at.loop_id = loop_id;
    p.bad_value = bad_value.map(str::to_string);
    p
}

fn set(control: &str, problems: Vec<Diagnostic>) -> SetAck {
    SetAck {
        transaction: "837".into(),
        control: control.into(),
        version: "005010X222A1".into(),
        problems,
        claims: Vec::new(),
    }
}

/// Two sets accepted and one rejected: a REF qualifier the guide does not allow in 2300 (in
/// claim PCN1002) and a wrong LX01.
fn two_accepted_one_rejected() -> Vec<GroupAck> {
    let mut rejected = set(
        "0002",
        vec![
            with(
                problem(
                    "X12-ELEMENT",
                    "REF",
                    25,
                    Some(1),
                    Some("7"),
                    "REF01 value 'ZZ' is not one the guide allows in loop 2300",
                ),
                Some("2300"),
                Some("ZZ"),
            ),
            with(
                problem(
                    "X12-STRUCTURE",
                    "LX",
                    31,
                    Some(1),
                    Some("I12"),
                    "LX01 is 3 but this is line 2 of the claim",
                ),
                None,
                Some("3"),
            ),
        ],
    );
    rejected.claims = vec![ClaimContext {
        first_segment: 20,
        last_segment: 40,
        clm01: "PCN1002".into(),
    }];
    vec![GroupAck {
        functional_id: "HC".into(),
        control: "101".into(),
        version: "005010X222A1".into(),
        sets: vec![set("0001", vec![]), rejected, set("0003", vec![])],
        problems: vec![],
    }]
}

const EXPECTED_999: &str = "\
ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*SUBMITTER      *260115*1030*^*00501*000000042*0*T*:~
GS*FA*CLEARHOUSE*SUBMITAPP*20260115*1030*7*X*005010X231A1~
ST*999*0001*005010X231A1~
AK1*HC*101*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*A~
AK2*837*0002*005010X222A1~
IK3*REF*25*2300*8~
CTX*CLM01:PCN1002~
IK4*1**7*ZZ~
IK3*LX*31**8~
CTX*CLM01:PCN1002~
IK4*1**I12*3~
IK5*R*5~
AK2*837*0003*005010X222A1~
IK5*A~
AK9*P*3*3*2~
SE*16*0001~
GE*1*7~
IEA*1*000000042~
";

#[test]
fn a_999_accepting_two_sets_and_rejecting_one() {
    let bytes = ack999::write(
        &envelope(Delimiters::STANDARD, true),
        &two_accepted_one_rejected(),
    );
    let text = String::from_utf8(bytes.clone()).expect("ASCII");
    assert_eq!(text, EXPECTED_999);

    let segments = split(&bytes, Delimiters::STANDARD);
    assert_eq!(segments.len(), 20);
    check_envelope(&segments);
    let ak9 = find(&segments, "AK9");
    assert_eq!(ak9, ["AK9", "P", "3", "3", "2"]);
    let ik5: Vec<_> = segments.iter().filter(|s| s[0] == "IK5").collect();
    assert_eq!(ik5.len(), 3);
    assert_eq!(ik5[1], &["IK5", "R", "5"]);

    let report = validate("accept2-reject1.999", &bytes);
    assert!(report.ok, "pyx12 found errors:\n{}", report.output);
}

#[test]
fn a_999_with_set_and_group_problems_and_other_delimiters() {
    let delimiters = Delimiters {
        element: b'|',
        repetition: None,
        component: b'>',
        segment: b'\'',
    };
    let groups = vec![
        GroupAck {
            functional_id: "HC".into(),
            control: "5".into(),
            version: "005010X222A1".into(),
            sets: vec![
                set(
                    "0001",
                    vec![
                        problem(
                            "X12-CONTROL",
                            "SE",
                            40,
                            Some(1),
                            Some("4"),
                            "SE01 says 41 segments but the transaction set has 40",
                        ),
                        problem(
                            "X12-STRUCTURE",
                            "NM1",
                            12,
                            None,
                            Some("3"),
                            "required segment NM1 (41) is missing from loop 1000A",
                        ),
                        problem(
                            "X12-STRUCTURE",
                            "HL",
                            14,
                            None,
                            Some("I7"),
                            "required loop 2010BA is missing from loop 2000B",
                        ),
                    ],
                ),
                SetAck {
                    transaction: "837".into(),
                    control: "0002".into(),
                    version: "005010X223A2".into(),
                    problems: vec![problem(
                        "X12-GUIDE",
                        "ST",
                        1,
                        Some(3),
                        Some("I6"),
                        "transaction set 0002 (837 005010X223A2) is not an 837P set",
                    )],
                    claims: Vec::new(),
                },
            ],
            problems: vec![
                problem(
                    "X12-CONTROL",
                    "GE",
                    0,
                    Some(1),
                    Some("5"),
                    "GE01 says 3 transaction sets but the group has 2",
                ),
                problem(
                    "X12-CONTROL",
                    "GE",
                    0,
                    Some(2),
                    Some("4"),
                    "GE02 6 does not match GS06 5",
                ),
            ],
        },
        GroupAck {
            functional_id: "HC".into(),
            control: "6".into(),
            version: "005010X222A1".into(),
            sets: vec![set("0001", vec![])],
            problems: vec![],
        },
    ];
    let bytes = ack999::write(&envelope(delimiters, false), &groups);
    let text = String::from_utf8(bytes.clone()).expect("ASCII");
    assert!(!text.contains('\n'));
    assert!(text.starts_with("ISA|00|          |00|          |ZZ|CLEARINGHOUSE  |"));
    assert_eq!(&text[82..83], "^", "a free repetition separator in ISA11");

    let segments = split(&bytes, delimiters);
    check_envelope(&segments);
    let ak9: Vec<_> = segments.iter().filter(|s| s[0] == "AK9").collect();
    assert_eq!(ak9[0], &["AK9", "R", "2", "2", "0", "5", "4"]);
    assert_eq!(ak9[1], &["AK9", "A", "1", "1", "1"]);
    let ik5: Vec<_> = segments.iter().filter(|s| s[0] == "IK5").collect();
    assert_eq!(ik5[0], &["IK5", "R", "4", "5"]);
    assert_eq!(ik5[1], &["IK5", "R", "I6"]);
    assert_eq!(ik5[2], &["IK5", "A"]);
    let ik3: Vec<_> = segments.iter().filter(|s| s[0] == "IK3").collect();
    assert_eq!(ik3[0], &["IK3", "NM1", "12", "", "3"]);
    assert_eq!(ik3[1], &["IK3", "HL", "14", "", "I7"]);

    let report = validate("problems.999", &bytes);
    assert!(report.ok, "pyx12 found errors:\n{}", report.output);
}

#[test]
fn a_ta1_rejecting_an_interchange() {
    let ack = Ta1 {
        control: "000000101".into(),
        date: "260115".into(),
        time: "1030".into(),
        code: 'R',
        note: "001".into(),
    };
    let bytes = ta1::write(&envelope(Delimiters::STANDARD, true), &ack);
    let text = String::from_utf8(bytes.clone()).expect("ASCII");
    assert_eq!(
        text,
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*SUBMITTER      *260115*1030*^*00501*000000042*0*T*:~\n\
         TA1*000000101*260115*1030*R*001~\n\
         IEA*0*000000042~\n"
    );
    let segments = split(&bytes, Delimiters::STANDARD);
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[0][13], segments[2][2], "ISA13 = IEA02");
    assert_eq!(segments[2][1], "0", "no functional groups");

    // pyx12's map puts TA1 in the ISA loop but also marks the GS loop as required, so a
    // TA1-only interchange (which is what a TA1 is) draws exactly one complaint per segment
    // after the ISA: "Mandatory loop ... (GS_LOOP) missing". It still checks the TA1's
    // elements (a bad TA104 or TA105 makes it fail with a traceback and no OK line) and ends
    // with ": OK". Anything else is an error.
    let report = validate("reject.ta1", &bytes);
    let other: Vec<_> = report
        .output
        .lines()
        .filter(|l| l.contains("ERROR") && !l.contains("(GS_LOOP) missing"))
        .collect();
    assert!(
        report.ok_line && other.is_empty(),
        "pyx12 found errors:\n{}",
        report.output
    );
}

/// IK4 takes its position, component, repetition, element reference and bad data from the
/// problem's fields (never from its message); bad data and CLM01 are cleaned to X12
/// characters; a warning rejects nothing; a newline terminator gets no second line break.
#[test]
fn ik4_and_ctx_come_from_fields_and_are_cleaned() {
    let mut element_problem = with(
        problem(
            "X12-ELEMENT",
            "HI",
            21,
            Some(1),
            Some("7"),
            "a message the writer must not read: value 'NO' in loop 9999",
        ),
        Some("2300"),
        Some("A\u{1b}B\u{7}"),
    );
    element_problem.at.component = Some(2);
    element_problem.at.repetition = Some(3);
    element_problem.at.element_ref = Some(1271);
    let warning = Diagnostic {
        severity: Severity::Warning,
        ..problem("X12-GUIDE", "ST", 1, Some(3), None, "pre-A1 guide")
    };
    let mut rejected = set("0001", vec![warning.clone(), element_problem]);
    rejected.claims = vec![ClaimContext {
        first_segment: 19,
        last_segment: 30,
        clm01: "PCN\u{1b}77\u{7}".into(),
    }];
    let groups = vec![GroupAck {
        functional_id: "HC".into(),
        control: "9".into(),
        version: "005010X222A1".into(),
        sets: vec![rejected, set("0002", vec![warning])],
        problems: vec![],
    }];
    let newline = Delimiters {
        segment: b'\n',
        ..Delimiters::STANDARD
    };
    let bytes = ack999::write(&envelope(newline, true), &groups);
    let text = String::from_utf8(bytes.clone()).expect("ASCII");
    assert!(!text.contains("\n\n"), "no empty segment:\n{text}");
    assert!(
        text.contains("\nIK3*HI*21*2300*8\nCTX*CLM01:PCN 77\nIK4*1:2:3*1271*7*A B\nIK5*R*5\n"),
        "{text}"
    );
    assert!(
        text.contains("AK2*837*0002*005010X222A1\nIK5*A\n"),
        "{text}"
    );
    assert!(text.contains("AK9*P*2*2*1\n"), "{text}");
    assert!(!text.bytes().any(|b| b < 0x20 && b != b'\n'), "{text:?}");
    let report = validate("fields.999", &bytes);
    assert!(report.ok, "pyx12 found errors:\n{}", report.output);
}

/// A TA1 for an interchange whose ISA13, ISA09 and ISA10 are not valid never echoes them:
/// it writes `000000000` and the acknowledgment's own date and time.
#[test]
fn a_ta1_never_echoes_an_invalid_isa13_or_date() {
    let ack = Ta1 {
        control: "12AB\u{1b}".into(),
        date: "991399".into(),
        time: "2561".into(),
        code: 'R',
        note: "018".into(),
    };
    let bytes = ta1::write(&envelope(Delimiters::STANDARD, true), &ack);
    let text = String::from_utf8(bytes).expect("ASCII");
    assert!(
        text.contains("\nTA1*000000000*260115*1030*R*018~\n"),
        "{text}"
    );
}

/// Splits an interchange into segments of elements (line breaks after terminators dropped).
fn split(bytes: &[u8], d: Delimiters) -> Vec<Vec<String>> {
    bytes
        .split(|&b| b == d.segment)
        .map(|s| s.strip_prefix(b"\n").unwrap_or(s))
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split(|&b| b == d.element)
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect()
        })
        .collect()
}

fn find<'a>(segments: &'a [Vec<String>], id: &str) -> &'a [String] {
    segments
        .iter()
        .find(|s| s[0] == id)
        .unwrap_or_else(|| panic!("no {id} segment"))
}

/// Recounts every envelope: SE01 (ST..SE), SE02 = ST02, GE01 sets, GE02 = GS06, IEA01
/// groups, IEA02 = ISA13, and no trailing element separator.
fn check_envelope(segments: &[Vec<String>]) {
    let (mut groups, mut sets, mut in_set) = (0, 0, 0);
    let (mut st02, mut gs06) = (String::new(), String::new());
    for s in segments {
        assert!(
            s.last().is_some_and(|e| !e.is_empty()),
            "trailing separator in {s:?}"
        );
        if in_set > 0 {
            in_set += 1;
        }
        match s[0].as_str() {
            "GS" => {
                groups += 1;
                sets = 0;
                gs06 = s[6].clone();
            }
            "ST" => {
                in_set = 1;
                sets += 1;
                st02 = s[2].clone();
            }
            "SE" => {
                assert_eq!(s[1], in_set.to_string(), "SE01 = segments counted");
                assert_eq!(s[2], st02, "SE02 = ST02");
                in_set = 0;
            }
            "GE" => {
                assert_eq!(s[1], sets.to_string(), "GE01 = sets counted");
                assert_eq!(s[2], gs06, "GE02 = GS06");
            }
            "IEA" => {
                assert_eq!(s[1], groups.to_string(), "IEA01 = groups counted");
                assert_eq!(s[2], segments[0][13], "IEA02 = ISA13");
            }
            _ => {}
        }
    }
}

struct Report {
    /// A line ending `: OK` and no `ERROR` line.
    ok: bool,
    /// A line ending `: OK`.
    ok_line: bool,
    output: String,
}

/// Runs pyx12's x12valid on a copy of `bytes` in a fresh temporary directory (x12valid
/// writes files next to its input). It exits 1 even on success; success is a line ending
/// `: OK` and no `ERROR` line.
fn validate(name: &str, bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write the file to validate");
    let out = Command::new(x12valid())
        .arg(&path)
        .current_dir(dir.path())
        .output()
        .expect("run x12valid");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok_line = output.lines().any(|l| l.trim_end().ends_with(": OK"));
    let ok = ok_line && !output.lines().any(|l| l.contains("ERROR"));
    Report {
        ok,
        ok_line,
        output,
    }
}
