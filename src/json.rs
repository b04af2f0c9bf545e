//! Compact JSON output, byte for byte what `serde_json::to_writer` writes, for the hot path:
//! the response body, the analysis a plan's data steps carry, the estimate's small values.
//!
//! serde_json escapes every string, struct keys included, one byte at a time through a table,
//! and a plan's response is ~150 such strings: the escaping was a sixth of a request's
//! instructions (BENCHMARKS.md, seventeenth pass). This writer tests eight bytes at a time for
//! the bytes JSON escapes (`"`, `\`, below 0x20) and copies clean runs whole; a byte that needs
//! escaping is written as serde_json writes it. Numbers are written by serde_json itself (so
//! floats format the same), and serde_json's `RawValue` (and [`RawJson`]) is recognised by the
//! token serde_json serializes it with and copied as is. The types stay described once, by
//! their `Serialize`; tests hold the output to serde_json's on arbitrary values and on plans.

use serde::ser::{self, Error as _, Serialize};
pub use serde_json::Error;

/// The struct name serde_json's `RawValue` serializes as (`serde_json::value::RawValue`'s
/// `Serialize`): serde_json's serializers write the one field's string without quotes.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Writes `value` as compact JSON at the end of `out`.
pub fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer {
        out,
        mode: Mode::Value,
    })
}

/// `value` as a JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    // Every string written is a `&str` copied or escaped whole, and escapes are ASCII.
    String::from_utf8(out).map_err(Error::custom)
}

/// JSON text written by this module, serialized as the JSON itself (as serde_json's
/// `RawValue` is, by every serde_json serializer and by this module's), without a `RawValue`'s
/// validating parse. Share it behind an `Arc` (as [`crate::domain::AnalysisJson`] does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// `value` as JSON (`null` if it does not serialize, which the planner's types always do).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> RawJson {
        written(value, |text| RawJson(text.into()))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

/// Hands `value`'s JSON (`null` if it does not serialize) to `with`, written into this
/// thread's reused buffer: one exact-size copy is all a caller that keeps it allocates.
fn written<T: Serialize + ?Sized, R>(value: &T, with: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    // Taken out of the cell while in use, so a nested call (a `Serialize` that writes JSON
    // itself) gets a buffer of its own instead of a borrow error.
    let mut out = BUFFER.take();
    out.clear();
    let text = match to_writer(&mut out, value) {
        Ok(()) => std::str::from_utf8(&out).unwrap_or("null"),
        Err(_) => "null",
    };
    let result = with(text);
    // Kept for the next call unless one odd value grew it far past an analysis' size.
    if out.capacity() <= 64 * 1024 {
        BUFFER.set(out);
    }
    result
}

impl Serialize for RawJson {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeStruct;
        let mut st = s.serialize_struct(RAW_VALUE_TOKEN, 1)?;
        st.serialize_field(RAW_VALUE_TOKEN, &*self.0)?;
        st.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Values as JSON.
    Value,
    /// A map key: strings as strings, numbers and booleans quoted, anything else an error.
    Key,
    /// The text of a raw value: the string as it is.
    Raw,
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    mode: Mode,
}

impl Writer<'_> {
    fn key_error() -> Error {
        Error::custom("key must be a string")
    }

    /// A scalar serde_json writes (numbers), quoted when it is a map key.
    fn scalar<T: Serialize>(&mut self, v: T) -> Result<(), Error> {
        let key = self.mode == Mode::Key;
        if key {
            self.out.push(b'"');
        }
        serde_json::to_writer(&mut *self.out, &v)?;
        if key {
            self.out.push(b'"');
        }
        Ok(())
    }

    fn not_key(&self) -> Result<(), Error> {
        if self.mode == Mode::Key {
            Err(Self::key_error())
        } else {
            Ok(())
        }
    }

    /// `{"variant":` before a variant's content.
    fn open_variant(&mut self, variant: &str) -> Result<(), Error> {
        self.not_key()?;
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        Ok(())
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes in `w` is `"`, `\` or a control byte (below 0x20). Each test
/// is exact about whether some byte matches (a borrow only starts at a byte that matches).
#[inline]
fn needs_escape(w: u64) -> bool {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    (quote | backslash | control) != 0
}

/// What serde_json writes after `\` for each byte: 0 for none, `u` for `\u00XX`.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `s` as a JSON string, quoted and escaped as serde_json does.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if clean(bytes) {
        out.extend_from_slice(bytes);
    } else {
        write_escaped(out, bytes);
    }
    out.push(b'"');
}

/// The eight bytes at `at` (the caller checks there are eight).
#[inline]
fn word(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|w| w.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// The four bytes at `at` (the caller checks there are four).
#[inline]
fn word4(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 4)
        .and_then(|w| w.try_into().ok())
        .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
}

/// Whether `bytes` has nothing to escape, tested eight bytes at a time, a longer string's last
/// word overlapping the one before it. A string of four to seven bytes is tested as two
/// overlapping four-byte loads, a shorter one byte by byte: never copied into a padded word and
/// reloaded, a reload that waits on the copy's narrower stores (a store-forwarding stall that
/// `perf annotate` put at a third of this function's time under load; most keys are short).
#[inline]
fn clean(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 4 {
        return bytes.iter().all(|&b| ESCAPE[usize::from(b)] == 0);
    }
    if n < 8 {
        return !needs_escape(word4(bytes, 0) | word4(bytes, n - 4) << 32);
    }
    let mut at = 0;
    while at + 8 <= n {
        if needs_escape(word(bytes, at)) {
            return false;
        }
        at += 8;
    }
    at == n || !needs_escape(word(bytes, n - 8))
}

/// `bytes` escaped byte by byte (the rare string with a quote, a backslash or a control byte).
#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// How a compound closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// `]` or `}`.
    One,
    /// `]}` or `}}`: the content of an enum variant.
    Variant,
    /// Nothing: a raw value.
    Raw,
}

struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    close: Close,
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.w)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        if self.close == Close::Raw {
            // `RawValue`'s one field: its text, unquoted.
            self.w.mode = Mode::Raw;
            let written = value.serialize(&mut *self.w);
            self.w.mode = Mode::Value;
            return written;
        }
        self.comma();
        write_str(self.w.out, key);
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }

    fn end(self, bracket: u8) {
        match self.close {
            Close::One => self.w.out.push(bracket),
            Close::Variant => self.w.out.extend_from_slice(&[bracket, b'}']),
            Close::Raw => {}
        }
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        let text: &[u8] = match (v, self.mode == Mode::Key) {
            (true, false) => b"true",
            (false, false) => b"false",
            (true, true) => b"\"true\"",
            (false, true) => b"\"false\"",
        };
        self.out.extend_from_slice(text);
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.scalar(v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if self.mode == Mode::Key && !v.is_finite() {
            return Err(Error::custom("float key must be finite"));
        }
        self.scalar(v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if self.mode == Mode::Key && !v.is_finite() {
            return Err(Error::custom("float key must be finite"));
        }
        self.scalar(v)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if self.mode == Mode::Raw {
            self.out.extend_from_slice(v.as_bytes());
        } else {
            write_str(self.out, v);
        }
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.not_key()?;
        serde_json::to_writer(&mut *self.out, v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.not_key()?;
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.not_key()?;
        self.out.push(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close: Close::One,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.open_variant(variant)?;
        self.out.push(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close: Close::Variant,
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.not_key()?;
        self.out.push(b'{');
        Ok(Compound {
            w: self,
            first: true,
            close: Close::One,
        })
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'w, 'a>, Error> {
        if name == RAW_VALUE_TOKEN {
            self.not_key()?;
            return Ok(Compound {
                w: self,
                first: true,
                close: Close::Raw,
            });
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.open_variant(variant)?;
        self.out.push(b'{');
        Ok(Compound {
            w: self,
            first: true,
            close: Close::Variant,
        })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }
}

/// The compounds of values: sequences and tuples, closed by `]`.
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self, b']');
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        self.w.mode = Mode::Key;
        let written = key.serialize(&mut *self.w);
        self.w.mode = Mode::Value;
        written
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b'}');
        Ok(())
    }
}

/// The compounds of named fields: structs and struct variants, closed by `}`.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self, b'}');
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{Value, json};

    fn same(value: &impl Serialize) {
        let ours = to_string(value).expect("ours");
        let theirs = serde_json::to_string(value).expect("serde_json");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn escapes_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "exactly8",
            "sixteen bytes ok",
            "quote \" and backslash \\ inside a long enough string",
            "\"",
            "\\\\\\\\\\\\\\\\\\",
            "tab\tnew\nline\r feed\u{c} back\u{8} bell\u{7} nul\u{0} us\u{1f} del\u{7f}",
            "ünïcødé 日本語 ✓ 🚀 \"quoted\" and more text to span words",
            "0123456\"89abcdef\u{1}",
        ] {
            same(&s);
        }
    }

    #[test]
    fn short_strings_escape_each_byte_at_each_place() {
        // The short paths (byte by byte below four, two overlapping loads below eight) against
        // serde_json: every byte that needs escaping, and one that does not, at every place of
        // every length up to nine.
        for len in 1..=9 {
            for at in 0..len {
                for b in (0u8..0x20).chain([b'"', b'\\', b'a', 0x7f]) {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = b;
                    same(&String::from_utf8(bytes).expect("ASCII"));
                }
            }
        }
    }

    #[test]
    fn every_shape_matches_serde_json() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, String),
            Struct { a: Option<f64>, b: Vec<i64> },
        }
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Tuple(i32, &'static str);
        #[derive(Serialize)]
        struct S {
            unit: (),
            unit_struct: Unit,
            tuple: Tuple,
            t: (bool, char),
            variants: Vec<E>,
            floats: [f64; 5],
            f32s: [f32; 2],
            big: (u128, i128),
            map: std::collections::BTreeMap<u32, bool>,
            bool_keys: std::collections::BTreeMap<bool, ()>,
            empty: Vec<u8>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
        }
        same(&S {
            unit: (),
            unit_struct: Unit,
            tuple: Tuple(-7, "x\ny"),
            t: (false, '"'),
            variants: vec![
                E::Unit,
                E::New(3),
                E::Tuple(1, "two".into()),
                E::Struct {
                    a: Some(0.1),
                    b: vec![i64::MIN, i64::MAX],
                },
                E::Struct { a: None, b: vec![] },
            ],
            floats: [1.0, -0.0, 1e300, f64::NAN, f64::INFINITY],
            f32s: [0.3, f32::NEG_INFINITY],
            big: (u128::MAX, i128::MIN),
            map: [(1, true), (20, false)].into_iter().collect(),
            bool_keys: [(true, ())].into_iter().collect(),
            empty: vec![],
            skipped: None,
        });
    }

    #[test]
    fn raw_json_written_while_writing_raw_json_gets_a_buffer_of_its_own() {
        // A value that writes JSON itself while being written (the buffer is per call).
        struct Nested;
        impl Serialize for Nested {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let inner = RawJson::of(&json!([1, "two"]));
                s.serialize_str(inner.get())
            }
        }
        assert_eq!(RawJson::of(&[Nested]).get(), r#"["[1,\"two\"]"]"#);
        assert_eq!(RawJson::of(&json!({"a": "x"})).get(), r#"{"a":"x"}"#);
    }

    #[test]
    fn raw_values_are_copied_whole() {
        let raw = serde_json::value::RawValue::from_string(r#"{"a": [1, 2]}"#.into()).unwrap();
        same(&json!({"before": 1, "raw": &raw, "after": [&raw]}));
        let ours = RawJson::of(&json!({"k": "v\"", "n": [1.5, null]}));
        assert_eq!(ours.get(), r#"{"k":"v\"","n":[1.5,null]}"#);
        // serde_json writes our raw JSON as it writes a RawValue, and reads it back as JSON.
        same(&json!({"x": 1}));
        let wrapped = serde_json::to_string(&[&ours]).unwrap();
        assert_eq!(wrapped, format!("[{}]", ours.get()));
        assert_eq!(to_string(&[&ours]).unwrap(), wrapped);
        assert_eq!(
            serde_json::to_value(&ours).unwrap(),
            json!({"k": "v\"", "n": [1.5, null]})
        );
    }

    #[test]
    fn keys_that_are_not_strings_are_errors() {
        let map: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(to_string(&map).is_err());
        assert!(serde_json::to_string(&map).is_err());
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[ -~\\t\\n\\u{0}-\\u{1f}\"\\\\é✓]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map("[ -~\\u{0}-\\u{1f}é]{0,12}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_values_match_serde_json(value in any_value()) {
            prop_assert_eq!(to_string(&value).unwrap(), serde_json::to_string(&value).unwrap());
        }
    }
}
