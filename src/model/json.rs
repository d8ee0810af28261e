//! The JSON shape of a claim for `scrub837 parse` (one object per line, `"type": "claim"`),
//! and [`SortedJson`], the writer that gives it and `check --format json` their text.
//!
//! Both were first written through a `serde_json::Value`, whose objects keep their keys
//! sorted (serde_json is built without `preserve_order`), so every object users read has its
//! keys in sorted order. [`SortedJson`] writes that same text straight from the `Serialize`
//! implementations into a reused buffer, putting each object's fields in order as the object
//! closes: no tree and no string per value.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

use super::Claim;

/// What a `parse` record leaves out unless PHI is asked for: the subscriber's and patient's
/// person (names, member ids, birth dates, addresses), as paths from the claim object.
const PERSONS: [&[&str]; 2] = [&["subscriber", "person"], &["patient", "person"]];

/// Appends a claim's JSON record and a newline to `json`'s buffer. Unless `show_phi` is set,
/// the subscriber's and patient's names, member ids, birth dates and addresses are left out.
pub fn write_claim_record(json: &mut SortedJson, claim: &Claim, show_phi: bool) {
    let hidden: &[&[&str]] = if show_phi { &[] } else { &PERSONS };
    // The keys in sorted order: "claim" comes before "type".
    json.buffer().extend_from_slice(br#"{"claim":"#);
    if json.write(claim, hidden).is_err() {
        // As the record has always read when a claim does not serialize (none fails today).
        json.buffer().extend_from_slice(b"null");
    }
    json.buffer().extend_from_slice(b",\"type\":\"claim\"}\n");
}

/// Compact JSON with the keys of every object in sorted order (by their bytes, as a
/// `serde_json::Value`'s objects have them; keys that need an escape would sort by their
/// escaped text, and no field name does), written into one buffer that is reused.
///
/// Numbers, strings and escapes are serde_json's own: values go through
/// `serde_json::Serializer`, and only the order of object fields is changed, in place, when
/// each object closes.
#[derive(Debug, Default)]
pub struct SortedJson {
    /// The text written so far (the serializer's writer and its formatter both reach it).
    out: RefCell<Vec<u8>>,
    /// The bookkeeping of the containers being written.
    frames: Frames,
}

impl SortedJson {
    /// The text written so far: append to it, write it out, clear it for the next record.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.out.get_mut()
    }

    /// Appends `value` as JSON with sorted keys, leaving out every field a path of `hidden`
    /// names: `["subscriber", "person"]` drops the `person` field of the object under the
    /// `subscriber` key of the top-level object. On an error, nothing is appended.
    pub fn write<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
        hidden: &[&[&str]],
    ) -> Result<(), serde_json::Error> {
        let start = self.out.get_mut().len();
        self.frames.clear();
        let formatter = Sorting {
            out: &self.out,
            frames: &mut self.frames,
            hidden,
        };
        let mut serializer = serde_json::Serializer::with_formatter(Appender(&self.out), formatter);
        let result = value.serialize(&mut serializer);
        if result.is_err() {
            self.out.get_mut().truncate(start);
        }
        result
    }
}

/// The containers open while a value is written, and room to reorder a closing object.
#[derive(Debug, Default)]
struct Frames {
    /// Open arrays and objects, outermost first.
    open: Vec<Open>,
    /// The fields of the open objects, in the order written.
    fields: Vec<FieldSpan>,
    /// The order a closing object's fields are written back in (indexes into `fields`).
    order: Vec<usize>,
    /// A closing object's fields while they are written back in order.
    scratch: Vec<u8>,
    /// The order of the fields of each shape of object met (see [`put_in_key_order`]).
    known: HashMap<u64, Vec<usize>, BuildHasherDefault<ShapeHasher>>,
}

impl Frames {
    fn clear(&mut self) {
        self.open.clear();
        self.fields.clear();
    }
}

/// An array or object being written.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Arrays keep their order; only objects are sorted.
    object: bool,
    /// Where its first field starts in the text (just after `{`).
    body: usize,
    /// Index in [`Frames::fields`] of its first field.
    first_field: usize,
    /// The key it sits under (its span in the text, quotes left out), when its parent is an
    /// object.
    key: Option<(usize, usize)>,
}

/// One field of an open object: `"key":value` at `start..end` in the text, the key's quoted
/// text ending at `key_end`.
#[derive(Debug, Clone, Copy)]
struct FieldSpan {
    start: usize,
    key_end: usize,
    end: usize,
    /// The key's first eight bytes, big-endian, padded with zeros: most keys are told apart
    /// by these alone, without reading the text.
    prefix: u64,
}

impl FieldSpan {
    /// The key's text without its quotes.
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start + 1..self.key_end - 1]
    }

    /// The order of two keys: their prefixes, then their whole texts. A key's text (escaped
    /// JSON) never holds a zero byte, so the zero padding sorts a shorter key first, as
    /// comparing the texts does.
    fn cmp_key(&self, other: &FieldSpan, text: &[u8]) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.key(text).cmp(other.key(text)))
    }
}

/// The first eight bytes of `key`, big-endian, padded with zeros.
fn key_prefix(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(bytes)
}

/// The hasher of [`Frames::known`]: its keys are already hashes of an object's shape.
#[derive(Debug, Default)]
struct ShapeHasher(u64);

impl Hasher for ShapeHasher {
    fn finish(&self) -> u64 {
        // Spread the bits (the table reads the top ones too).
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The serializer's writer: appends to the shared buffer.
struct Appender<'a>(&'a RefCell<Vec<u8>>);

impl io::Write for Appender<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// serde_json's compact formatter, noting where each object field starts and ends so the
/// object can be put in key order when it closes. Everything it writes goes through the
/// writer; it reads the shared buffer only for positions, and rewrites it only when an
/// object closes (never while the writer holds it).
struct Sorting<'a> {
    out: &'a RefCell<Vec<u8>>,
    frames: &'a mut Frames,
    hidden: &'a [&'a [&'a str]],
}

impl<'a> Sorting<'a> {
    fn len(&self) -> usize {
        self.out.borrow().len()
    }

    /// Notes that an array (or object) opens at the end of the text.
    fn push_open(&mut self, object: bool) {
        let open = Open {
            object,
            body: self.len() + 1,
            first_field: self.frames.fields.len(),
            key: self.current_key(),
        };
        self.frames.open.push(open);
    }

    /// Sets one position of the field being written to the end of the text.
    fn mark(&mut self, position: fn(&mut FieldSpan) -> &mut usize) {
        let at = self.len();
        if let Some(field) = self.frames.fields.last_mut() {
            *position(field) = at;
        }
    }

    /// The key of the field being written in the innermost open object, if the innermost
    /// container is an object.
    fn current_key(&self) -> Option<(usize, usize)> {
        let open = self.frames.open.last()?;
        if !open.object {
            return None;
        }
        let field = self.frames.fields.last()?;
        Some((field.start + 1, field.key_end - 1))
    }

    /// The field the innermost open object must leave out, if a hidden path names it.
    fn hidden_field(&self, text: &[u8]) -> Option<&'a str> {
        let open = &self.frames.open;
        let hidden: &'a [&'a [&'a str]] = self.hidden;
        hidden.iter().find_map(|path| {
            let (field, parents) = path.split_last()?;
            let ancestors_match = open.len() == parents.len() + 1
                && open.iter().all(|o| o.object)
                && open[1..].iter().zip(parents.iter()).all(|(o, name)| {
                    o.key
                        .is_some_and(|(from, to)| &text[from..to] == name.as_bytes())
                });
            ancestors_match.then_some(*field)
        })
    }

    /// Puts the fields of the innermost open object (the end of the text) in key order,
    /// without the hidden one, and forgets them.
    fn sort_closing_object(&mut self) {
        let Some(open) = self.frames.open.last().copied() else {
            return;
        };
        let mut text = self.out.borrow_mut();
        let hidden = self.hidden_field(&text).map(str::as_bytes);
        let frames = &mut *self.frames;
        let fields = &frames.fields[open.first_field..];
        let hidden = hidden.and_then(|h| fields.iter().position(|f| f.key(&text) == h));
        frames.order.clear();
        frames
            .order
            .extend((0..fields.len()).filter(|&i| Some(i) != hidden));
        put_in_key_order(&mut frames.order, fields, hidden, &text, &mut frames.known);
        // The fields already in place (a first run of them) stay where they are.
        let kept = frames
            .order
            .iter()
            .enumerate()
            .take_while(|&(n, &i)| n == i)
            .count();
        if kept < fields.len() {
            let from = match kept {
                0 => open.body,
                _ => fields[kept - 1].end,
            };
            frames.scratch.clear();
            frames.scratch.extend_from_slice(&text[from..]);
            text.truncate(from);
            for (n, &i) in frames.order.iter().enumerate().skip(kept) {
                if n > 0 {
                    text.push(b',');
                }
                let span = fields[i];
                text.extend_from_slice(&frames.scratch[span.start - from..span.end - from]);
            }
        }
        frames.fields.truncate(open.first_field);
    }
}

/// Puts `order` (the indexes of `fields` to write, all but `hidden`) in key order. A
/// struct's object has the same keys in the same order every time, so the order found for a
/// shape of object is remembered and, the next time, only checked (a strictly ascending
/// order of those fields is the sorted one; a shape that does not fit is sorted anew).
fn put_in_key_order(
    order: &mut [usize],
    fields: &[FieldSpan],
    hidden: Option<usize>,
    text: &[u8],
    known: &mut HashMap<u64, Vec<usize>, BuildHasherDefault<ShapeHasher>>,
) {
    let cmp = |a: usize, b: usize| fields[a].cmp_key(&fields[b], text);
    let ascending = |order: &[usize]| order.windows(2).all(|w| cmp(w[0], w[1]).is_lt());
    // The number of fields, the hidden one and the keys' prefixes and lengths.
    let shape = fields.iter().fold(
        (fields.len() as u64) << 32 | hidden.map_or(0, |h| h as u64 + 1),
        |shape, f| {
            (shape.rotate_left(5) ^ f.prefix)
                .wrapping_mul(131)
                .wrapping_add((f.key_end - f.start) as u64)
        },
    );
    if let Some(earlier) = known.get(&shape) {
        let same_fields = earlier.len() == order.len()
            && earlier
                .iter()
                .all(|&i| i < fields.len() && Some(i) != hidden);
        if same_fields && ascending(earlier) {
            order.copy_from_slice(earlier);
            return;
        }
    }
    // Equal keys (never in a struct) stay in the order written.
    order.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    if ascending(order) {
        known.insert(shape, order.to_vec());
    }
}

impl Formatter for Sorting<'_> {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.push_open(false);
        CompactFormatter.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.frames.open.pop();
        CompactFormatter.end_array(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.push_open(true);
        CompactFormatter.begin_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        CompactFormatter.begin_object_key(writer, first)?;
        let start = self.len();
        self.frames.fields.push(FieldSpan {
            start,
            key_end: start,
            end: start,
            prefix: 0,
        });
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        CompactFormatter.end_object_key(writer)?;
        let text = self.out.borrow();
        if let Some(field) = self.frames.fields.last_mut() {
            field.key_end = text.len();
            field.prefix = key_prefix(field.key(&text));
        }
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        CompactFormatter.end_object_value(writer)?;
        self.mark(|field| &mut field.end);
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.sort_closing_object();
        self.frames.open.pop();
        CompactFormatter.end_object(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The text a `serde_json::Value` gives, which `SortedJson` must match.
    fn through_value<T: Serialize>(value: &T) -> String {
        serde_json::to_value(value).expect("serializes").to_string()
    }

    fn sorted<T: Serialize>(value: &T, hidden: &[&[&str]]) -> String {
        let mut json = SortedJson::default();
        json.write(value, hidden).expect("serializes");
        String::from_utf8(json.buffer().clone()).expect("utf-8")
    }

    #[derive(Serialize)]
    struct Inner {
        zeta: Option<u8>,
        alpha: &'static str,
        person: u8,
    }

    #[derive(Serialize)]
    struct Outer {
        zz: Vec<Inner>,
        subscriber: Inner,
        empty: Vec<u8>,
        a: f64,
        nested: Vec<Vec<Inner>>,
        text: &'static str,
    }

    fn outer() -> Outer {
        let inner = || Inner {
            zeta: None,
            alpha: "x\"\u{8}\u{c}\u{7f}\u{1}é",
            person: 7,
        };
        Outer {
            zz: vec![inner(), inner()],
            subscriber: inner(),
            empty: Vec::new(),
            a: 1.5,
            nested: vec![vec![inner()], vec![]],
            text: "\\\n",
        }
    }

    #[test]
    fn writes_what_a_value_writes_keys_sorted_at_every_depth() {
        let value = outer();
        assert_eq!(sorted(&value, &[]), through_value(&value));
        let map = json!({"b": {"d": [1, {"f": null, "e": true}], "c": -2}, "a": "z"});
        assert_eq!(sorted(&map, &[]), map.to_string());
        // Keys alike in their first eight bytes, and one a prefix of another.
        let entries = || {
            let keys = [
                "set_segment_b",
                "set_segment_a",
                "set_segm",
                "set_segmen",
                "set",
            ];
            Written(keys.into_iter().map(|k| (k, json!(k.len()))).collect())
        };
        let expected = serde_json::to_value(entries()).expect("serializes");
        assert_eq!(sorted(&entries(), &[]), expected.to_string());
    }

    #[test]
    fn objects_of_one_shape_but_other_keys_are_sorted_each_their_own_way() {
        let mut json = SortedJson::default();
        let mut expected = String::new();
        // The same number of keys of the same lengths, written in other orders.
        for (first, second, third) in [("b", "a", "c"), ("a", "b", "c"), ("d", "c", "e")] {
            let mut map = serde_json::Map::new();
            map.insert(first.into(), json!(1));
            map.insert(second.into(), json!(2));
            map.insert(third.into(), json!(3));
            let entries: Vec<_> = [first, second, third]
                .into_iter()
                .map(|k| (k, map[k].clone()))
                .collect();
            let written_in_order = Written(entries);
            json.write(&written_in_order, &[]).expect("serializes");
            expected.push_str(&serde_json::Value::Object(map).to_string());
        }
        assert_eq!(String::from_utf8(json.buffer().clone()).unwrap(), expected);
    }

    /// A map written in the order of its entries.
    struct Written(Vec<(&'static str, serde_json::Value)>);

    impl Serialize for Written {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    #[test]
    fn hides_only_the_field_the_path_names() {
        let value = outer();
        let mut expected = serde_json::to_value(&value).expect("serializes");
        if let Some(serde_json::Value::Object(map)) = expected.get_mut("subscriber") {
            map.remove("person");
        }
        let written = sorted(&value, &[&["subscriber", "person"], &["zz", "person"]]);
        assert_eq!(written, expected.to_string());
        assert!(written.contains(r#""person":7"#), "zz's are in an array");
    }

    #[test]
    fn a_buffer_is_reused_and_an_error_appends_nothing() {
        let mut json = SortedJson::default();
        json.buffer().extend_from_slice(b"[");
        json.write(&outer(), &[]).expect("serializes");
        let mut bad = std::collections::BTreeMap::new();
        bad.insert(vec![1u8], 2u8);
        assert!(json.write(&bad, &[]).is_err(), "a key that is not a string");
        json.buffer().push(b']');
        let text = String::from_utf8(json.buffer().clone()).expect("utf-8");
        assert_eq!(text, format!("[{}]", through_value(&outer())));
    }
}
