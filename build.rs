//! Compiles the 837P grammar (`grammars/837p-005010x222.toml`) into a Rust constant, and the
//! bundled payer profiles (`data/profiles/*.toml`) into a function that builds them.
//!
//! The grammar stays data: the TOML file is the source, read here on every build that changes
//! it. Parsing it at start-up cost some 50,000 heap allocations (a whole TOML document, then an
//! owned string for every id and code); the constant this writes into `OUT_DIR` borrows every
//! text and list from the binary, so loading the grammar allocates nothing.
//!
//! This reads the file with `toml` into generic tables and writes one struct literal per
//! table, filling in the defaults `src/grammar/model.rs` gives its serde shape. The literal
//! must type-check against the model, and the test `compiled_in_grammar_is_the_toml_file`
//! proves it equal to `Grammar::from_toml` of the same file, so a default or field that
//! drifts apart fails the build or the tests. A key this does not know fails the build.
//!
//! The profiles likewise stay TOML files; parsing their TOML at start-up cost some 1,700
//! allocations, building them from literals a tenth of that. The test
//! `compiled_in_profiles_are_the_toml_files` (`src/rules/profile.rs`) proves them equal.

use std::fmt::Write as _;
use std::path::Path;

use toml::{Table, Value};

/// The grammar file, relative to the crate root.
const GRAMMAR: &str = "grammars/837p-005010x222.toml";

/// The file written into `OUT_DIR`, included by `src/grammar/model.rs`.
const OUT: &str = "grammar_837p_005010x222.rs";

fn main() {
    println!("cargo:rerun-if-changed={GRAMMAR}");
    println!("cargo:rerun-if-changed=build.rs");
    let text =
        std::fs::read_to_string(GRAMMAR).unwrap_or_else(|e| panic!("{GRAMMAR}: cannot read: {e}"));
    let table: Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{GRAMMAR}: not TOML: {e}"));
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    write(&out_dir, OUT, &grammar(&table));
    write(&out_dir, PROFILES_OUT, &profiles());
}

/// Writes `code` into `OUT_DIR/name`.
fn write(out_dir: &str, name: &str, code: &str) {
    let path = Path::new(out_dir).join(name);
    std::fs::write(&path, code).unwrap_or_else(|e| panic!("{}: cannot write: {e}", path.display()));
}

/// Stops the build: the grammar file does not have the shape the model reads.
fn bad(what: &str, key: &str, expected: &str) -> ! {
    panic!("{GRAMMAR}: {what}: `{key}` should be {expected} (see src/grammar/model.rs)")
}

/// Stops the build when `t` has a key not in `known` (the model denies unknown fields).
fn only(t: &Table, what: &str, known: &[&str]) {
    if let Some(key) = t.keys().find(|k| !known.contains(&k.as_str())) {
        bad(what, key, &format!("one of {known:?}"));
    }
}

fn get_table<'a>(t: &'a Table, what: &str, key: &str) -> &'a Table {
    match t.get(key) {
        Some(Value::Table(inner)) => inner,
        _ => bad(what, key, "a table"),
    }
}

fn tables<'a>(t: &'a Table, what: &str, key: &str) -> Vec<&'a Table> {
    match t.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Table(inner) => inner,
                _ => bad(what, key, "an array of tables"),
            })
            .collect(),
        Some(_) => bad(what, key, "an array of tables"),
    }
}

/// A required string as a borrowed `Text`.
fn text(t: &Table, what: &str, key: &str) -> String {
    match t.get(key) {
        Some(Value::String(s)) => borrowed_str(s),
        _ => bad(what, key, "a string"),
    }
}

fn borrowed_str(s: &str) -> String {
    // `{:?}` of a str is a valid Rust string literal (quotes and escapes included).
    format!("Text::borrowed({s:?})")
}

/// An optional string as `None` or `Some(Text::borrowed(..))`.
fn optional_text(t: &Table, what: &str, key: &str) -> String {
    match t.get(key) {
        None => "None".into(),
        Some(Value::String(s)) => format!("Some({})", borrowed_str(s)),
        Some(_) => bad(what, key, "a string"),
    }
}

/// The generated code: one `static` per non-empty list. A borrow of an array literal nested in
/// a static's initializer would be a temporary (its items may own heap data, as far as the
/// compiler knows), so every list is a `static` of its own and the lists borrow those.
#[derive(Default)]
struct Statics {
    code: String,
    count: usize,
}

impl Statics {
    /// A list of `ty` items as a borrowed `List`.
    fn list(&mut self, ty: &str, items: Vec<String>) -> String {
        if items.is_empty() {
            return "List::borrowed(&[])".into();
        }
        let name = format!("L{}", self.count);
        self.count += 1;
        let _ = writeln!(
            self.code,
            "static {name}: [{ty}; {}] = [{}];",
            items.len(),
            items.join(", ")
        );
        format!("List::borrowed(&{name})")
    }

    /// A list of strings (empty when absent) as a borrowed `List`.
    fn texts(&mut self, t: &Table, what: &str, key: &str) -> String {
        let items: Vec<String> = match t.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => borrowed_str(s),
                    _ => bad(what, key, "an array of strings"),
                })
                .collect(),
            Some(_) => bad(what, key, "an array of strings"),
        };
        self.list("Text", items)
    }
}

/// An integer: `default` when absent and one is given, else required.
fn integer(t: &Table, what: &str, key: &str, default: Option<i64>) -> i64 {
    match (t.get(key), default) {
        (Some(Value::Integer(n)), _) if *n >= 0 => *n,
        (None, Some(d)) => d,
        _ => bad(what, key, "a whole number of at least 0"),
    }
}

/// An optional integer as `None` or `Some(n)`.
fn optional_integer(t: &Table, what: &str, key: &str) -> String {
    match t.get(key) {
        None => "None".into(),
        Some(_) => format!("Some({})", integer(t, what, key, None)),
    }
}

/// An enum variant named by its TOML string (`allowed` maps TOML strings to variants).
fn variant(
    t: &Table,
    what: &str,
    key: &str,
    ty: &str,
    allowed: &[(&str, &str)],
    default: Option<&str>,
) -> String {
    let name = match (t.get(key), default) {
        (Some(Value::String(s)), _) => s.as_str(),
        (None, Some(d)) => d,
        _ => bad(what, key, "a string"),
    };
    match allowed.iter().find(|(toml, _)| *toml == name) {
        Some((_, rust)) => format!("{ty}::{rust}"),
        None => bad(what, key, &format!("one of {allowed:?}")),
    }
}

const USAGE: &[(&str, &str)] = &[("R", "R"), ("S", "S")];
const ELEMENT_USAGE: &[(&str, &str)] = &[("R", "R"), ("S", "S"), ("N", "N")];
const KINDS: &[(&str, &str)] = &[
    ("AN", "AN"),
    ("ID", "ID"),
    ("R", "R"),
    ("N0", "N0"),
    ("N1", "N1"),
    ("N2", "N2"),
    ("N3", "N3"),
    ("N4", "N4"),
    ("N5", "N5"),
    ("N6", "N6"),
    ("N7", "N7"),
    ("N8", "N8"),
    ("N9", "N9"),
    ("DT", "DT"),
    ("TM", "TM"),
    ("B", "B"),
    ("composite", "Composite"),
];

/// The whole generated file: the statics, then `X222`, the grammar.
fn grammar(t: &Table) -> String {
    let mut statics = Statics::default();
    let value = statics.grammar(t);
    format!(
        "// Written by build.rs from {GRAMMAR}.\n{}\npub(super) static X222: Grammar = {value};\n",
        statics.code
    )
}

impl Statics {
    fn grammar(&mut self, t: &Table) -> String {
        only(t, "top level", &["grammar", "loop"]);
        let info = get_table(t, "top level", "grammar");
        let what = "[grammar]";
        only(info, what, &["transaction", "guide", "accepts", "source"]);
        let accepts = self.texts(info, what, "accepts");
        let loops = tables(t, "top level", "loop")
            .into_iter()
            .map(|l| self.loop_def(l))
            .collect();
        format!(
        "Grammar {{ grammar: GrammarInfo {{ transaction: {}, guide: {}, accepts: {accepts}, source: {} }}, loops: {} }}",
        text(info, what, "transaction"),
        text(info, what, "guide"),
        text(info, what, "source"),
        self.list("LoopDef", loops),
    )
    }

    fn loop_def(&mut self, t: &Table) -> String {
        let what = &format!(
            "[[loop]] {}",
            t.get("id").and_then(Value::as_str).unwrap_or("?")
        );
        only(
            t,
            what,
            &[
                "id", "name", "parents", "usage", "repeat", "trigger", "segments",
            ],
        );
        let trigger = match t.get("trigger") {
            None => "None".to_string(),
            Some(Value::Table(trigger)) => format!("Some({})", self.trigger_def(trigger, what)),
            Some(_) => bad(what, "trigger", "a table"),
        };
        let segments = tables(t, what, "segments")
            .into_iter()
            .map(|s| self.segment(s, what))
            .collect();
        format!(
        "LoopDef {{ id: {}, name: {}, parents: {}, usage: {}, repeat: {}, trigger: {trigger}, segments: {} }}",
        text(t, what, "id"),
        text(t, what, "name"),
        self.texts(t, what, "parents"),
        variant(t, what, "usage", "Usage", USAGE, None),
        integer(t, what, "repeat", None),
        self.list("SegmentDef", segments),
    )
    }

    fn trigger_def(&mut self, t: &Table, what: &str) -> String {
        let what = &format!("{what} trigger");
        only(t, what, &["segment", "element", "values"]);
        format!(
            "Trigger {{ segment: {}, element: {}, values: {} }}",
            text(t, what, "segment"),
            integer(t, what, "element", Some(0)),
            self.texts(t, what, "values"),
        )
    }

    fn segment(&mut self, t: &Table, what: &str) -> String {
        let what = &format!(
            "{what} segment {}",
            t.get("id").and_then(Value::as_str).unwrap_or("?")
        );
        only(
            t,
            what,
            &[
                "id", "usage", "max_use", "element", "values", "position", "elements",
            ],
        );
        let elements = tables(t, what, "elements")
            .into_iter()
            .map(|e| self.element(e, what))
            .collect();
        format!(
        "SegmentDef {{ id: {}, usage: {}, max_use: {}, element: {}, values: {}, position: {}, elements: {} }}",
        text(t, what, "id"),
        variant(t, what, "usage", "Usage", USAGE, None),
        integer(t, what, "max_use", None),
        optional_integer(t, what, "element"),
        self.texts(t, what, "values"),
        optional_integer(t, what, "position"),
        self.list("ElementDef", elements),
    )
    }

    fn element(&mut self, t: &Table, what: &str) -> String {
        only(
            t,
            what,
            &[
                "usage",
                "ref",
                "kind",
                "min",
                "max",
                "codes",
                "external",
                "repeat",
                "format",
                "components",
            ],
        );
        let components = tables(t, what, "components")
            .into_iter()
            .map(|c| self.element(c, what))
            .collect();
        format!(
        "ElementDef {{ usage: {}, reference: {}, kind: {}, min: {}, max: {}, codes: {}, external: {}, repeat: {}, format: {}, components: {} }}",
        variant(t, what, "usage", "ElementUsage", ELEMENT_USAGE, Some("S")),
        optional_integer(t, what, "ref"),
        variant(t, what, "kind", "ElementKind", KINDS, Some("AN")),
        integer(t, what, "min", Some(1)),
        integer(t, what, "max", Some(0)),
        self.texts(t, what, "codes"),
        optional_text(t, what, "external"),
        integer(t, what, "repeat", Some(1)),
        optional_integer(t, what, "format"),
        self.list("ElementDef", components),
    )
    }
}

/// The bundled payer profiles, in the order `src/rules/profile.rs` lists them.
const PROFILES: [&str; 4] = ["medicare", "commercial", "anthem", "uhc-community-plan"];

/// The file written into `OUT_DIR`, included by `src/rules/profile.rs`.
const PROFILES_OUT: &str = "bundled_profiles.rs";

/// The rule actions as TOML writes them (`diag::Action`, lowercase).
const ACTIONS: &[(&str, &str)] = &[
    ("reject", "Reject"),
    ("repair", "Repair"),
    ("warn", "Warn"),
    ("off", "Off"),
];

/// The bundled profiles as a function building them: one `Profile` literal per file.
fn profiles() -> String {
    let mut out = String::from(
        "// Written by build.rs from data/profiles/*.toml.\n\
         pub(super) fn bundled() -> Vec<Profile> {\n    vec![\n",
    );
    for name in PROFILES {
        let file = format!("data/profiles/{name}.toml");
        println!("cargo:rerun-if-changed={file}");
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: cannot read: {e}"));
        let table: Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{file}: not TOML: {e}"));
        let _ = writeln!(out, "        {},", profile(&file, &table));
    }
    out.push_str("    ]\n}\n");
    out
}

/// A required string as an owned `String` expression.
fn owned(t: &Table, file: &str, what: &str, key: &str) -> String {
    match t.get(key) {
        Some(Value::String(s)) => format!("String::from({s:?})"),
        _ => panic!("{file}: {what}: `{key}` should be a string"),
    }
}

/// An action word as a `diag::Action` variant.
fn action(value: &Value, file: &str, what: &str) -> String {
    let word = value.as_str().unwrap_or_default();
    match ACTIONS.iter().find(|(toml, _)| *toml == word) {
        Some((_, rust)) => format!("Action::{rust}"),
        None => panic!("{file}: {what}: the action should be one of {ACTIONS:?}, found {value}"),
    }
}

fn profile(file: &str, t: &Table) -> String {
    let known = ["name", "description", "actions", "conditional"];
    if let Some(key) = t.keys().find(|k| !known.contains(&k.as_str())) {
        panic!("{file}: unknown key `{key}`, expected one of {known:?}");
    }
    let actions: Vec<String> = match t.get("actions") {
        Some(Value::Table(actions)) => actions
            .iter()
            .map(|(rule, a)| format!("(String::from({rule:?}), {})", action(a, file, rule)))
            .collect(),
        _ => panic!("{file}: `actions` should be a table"),
    };
    let conditional: Vec<String> = match t.get("conditional") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let Value::Table(c) = item else {
                    panic!("{file}: `conditional` should be an array of tables");
                };
                let known = ["rule", "action", "billing_state"];
                if let Some(key) = c.keys().find(|k| !known.contains(&k.as_str())) {
                    panic!(
                        "{file}: [[conditional]]: unknown key `{key}`, expected one of {known:?}"
                    );
                }
                let state = match c.get("billing_state") {
                    None => "None".to_string(),
                    Some(_) => format!(
                        "Some({})",
                        owned(c, file, "[[conditional]]", "billing_state")
                    ),
                };
                let Some(a) = c.get("action") else {
                    panic!("{file}: [[conditional]]: `action` is missing");
                };
                format!(
                    "Conditional {{ rule: {}, action: {}, billing_state: {state} }}",
                    owned(c, file, "[[conditional]]", "rule"),
                    action(a, file, "[[conditional]]"),
                )
            })
            .collect(),
        Some(_) => panic!("{file}: `conditional` should be an array of tables"),
    };
    format!(
        "Profile {{ name: {}, description: {}, actions: BTreeMap::from([{}]), conditional: vec![{}] }}",
        owned(t, file, "top level", "name"),
        owned(t, file, "top level", "description"),
        actions.join(", "),
        conditional.join(", "),
    )
}
