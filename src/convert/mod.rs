//! Result values: binary column values from the server into columnar buffers the JS facade turns
//! into the same JS values node-postgres gives.
//!
//! Each column gets one [`Kind`] from its type OID. Types node-postgres parses in a way that is
//! cheap to reproduce exactly get a fast path here (numbers, booleans, strings, JSON, bytea,
//! timestamptz); every other type is rendered to PostgreSQL's own text output ([`text::render`])
//! and parsed in JS by the same `pg-types` parser node-postgres uses ([`Kind::Parse`]).
use crate::error::Error;
use tokio_postgres::types::{Kind as PgKind, Type};

pub mod text;

/// How the JS facade turns a column's buffers into values. The numbers are part of the contract
/// with `lib/columns.js`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `numbers` holds the values.
    Number = 0,
    /// `bytes` holds one byte per row, 0 or 1.
    Bool = 1,
    /// `text` holds the values joined, `ends` their end offsets in UTF-16 code units.
    Text = 2,
    /// `text` is one JSON array literal holding every row's value (`null` for SQL NULL).
    Json = 3,
    /// `bytes` holds the values joined, `ends` their end offsets in bytes.
    Bytes = 4,
    /// `numbers` holds milliseconds since the epoch (±Infinity for ±infinity).
    Date = 5,
    /// Like `Text`, but JS passes each value through the type's text parser.
    Parse = 6,
}

/// One column of a result, ready to cross to JS.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// How to read the buffers.
    pub kind: Kind,
    /// One byte per row, 1 for SQL NULL; empty when no row is NULL.
    pub nulls: Vec<u8>,
    /// Numeric values (`Number`, `Date`); NULL rows hold 0.
    pub numbers: Vec<f64>,
    /// Joined text (`Text`, `Parse`, `Json`).
    pub text: String,
    /// End offset of each row's value in `text` (UTF-16 units) or `bytes`.
    pub ends: Vec<u32>,
    /// Raw bytes (`Bool`, `Bytes`).
    pub bytes: Vec<u8>,
}

/// The kind a column of type `ty` decodes to; `as_text` forces `Parse` (a user type parser).
pub fn kind_of(ty: &Type, as_text: bool) -> Kind {
    if as_text {
        return Kind::Parse;
    }
    match *ty {
        Type::INT2 | Type::INT4 | Type::OID | Type::FLOAT4 | Type::FLOAT8 => Kind::Number,
        Type::BOOL => Kind::Bool,
        Type::JSON | Type::JSONB => Kind::Json,
        Type::BYTEA => Kind::Bytes,
        Type::TIMESTAMPTZ => Kind::Date,
        _ if has_js_parser(ty.oid()) => Kind::Parse,
        _ => Kind::Text,
    }
}

/// Whether node-postgres (pg-types 2.2.0, `lib/textParsers.js`) registers a text parser for
/// this OID that changes the server's text; types without one come back as that text. (int8's
/// parser returns the server's text unchanged, so it is not listed.)
fn has_js_parser(oid: u32) -> bool {
    matches!(
        oid,
        16 | 17
            | 21
            | 23
            | 26
            | 114
            | 199
            | 600
            | 651
            | 700
            | 701
            | 718
            | 791
            | 1000
            | 1001
            | 1005
            | 1007
            | 1008
            | 1009
            | 1014
            | 1015
            | 1016
            | 1017
            | 1021
            | 1022
            | 1028
            | 1040
            | 1041
            | 1082
            | 1114
            | 1115
            | 1182
            | 1183
            | 1184
            | 1185
            | 1186
            | 1187
            | 1231
            | 1270
            | 2951
            | 3802
            | 3807
            | 3907
    )
}

/// Collects one column's values row by row.
pub struct ColumnBuilder {
    ty: Type,
    column: Column,
    rows: usize,
    utf16_len: usize,
}

impl ColumnBuilder {
    /// A builder for a column of type `ty`; `as_text` when a user parser takes the text form.
    pub fn new(ty: &Type, as_text: bool) -> Self {
        let kind = kind_of(ty, as_text);
        let mut text = String::new();
        if kind == Kind::Json {
            text.push('[');
        }
        ColumnBuilder {
            ty: ty.clone(),
            column: Column {
                kind,
                nulls: Vec::new(),
                numbers: Vec::new(),
                text,
                ends: Vec::new(),
                bytes: Vec::new(),
            },
            rows: 0,
            utf16_len: 0,
        }
    }

    /// Adds the next row's value (`None` for SQL NULL).
    pub fn push(&mut self, value: Option<&[u8]>) -> Result<(), Error> {
        let c = &mut self.column;
        match value {
            None => {
                if c.nulls.is_empty() {
                    c.nulls.resize(self.rows, 0);
                }
                c.nulls.push(1);
            }
            Some(_) if !c.nulls.is_empty() => c.nulls.push(0),
            Some(_) => {}
        }
        self.rows += 1;
        match c.kind {
            Kind::Number | Kind::Date => {
                let n = match value {
                    None => 0.0,
                    Some(raw) if c.kind == Kind::Date => text::timestamp_millis(raw)?,
                    Some(raw) => number(&self.ty, raw)?,
                };
                c.numbers.push(n);
            }
            Kind::Bool => c.bytes.push(u8::from(matches!(value, Some([1])))),
            Kind::Bytes => {
                if let Some(raw) = value {
                    c.bytes.extend_from_slice(raw);
                }
                c.ends.push(offset(c.bytes.len())?);
            }
            Kind::Json => {
                if self.rows > 1 {
                    c.text.push(',');
                }
                match value {
                    None => c.text.push_str("null"),
                    Some(raw) => c.text.push_str(text::json_text(&self.ty, raw)?),
                }
            }
            Kind::Text | Kind::Parse => {
                if let Some(raw) = value {
                    // On an error the whole result fails, so a half-rendered value never shows.
                    let start = c.text.len();
                    text::render(&self.ty, raw, &mut c.text)?;
                    self.utf16_len += utf16_len(&c.text[start..]);
                }
                c.ends.push(offset(self.utf16_len)?);
            }
        }
        Ok(())
    }

    /// The finished column.
    pub fn finish(mut self) -> Column {
        if self.column.kind == Kind::Json {
            self.column.text.push(']');
        }
        self.column
    }
}

/// Length of `s` in UTF-16 code units, the unit of JS string offsets.
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

fn offset(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| {
        Error::Decode("a result column is larger than 4 GiB: fetch it in smaller parts".into())
    })
}

/// Decodes a binary int2/int4/oid/float4/float8 value to the number node-postgres gives.
fn number(ty: &Type, raw: &[u8]) -> Result<f64, Error> {
    let bad = || Error::Decode(format!("malformed binary {} value", ty.name()));
    Ok(match *ty {
        Type::INT2 => i16::from_be_bytes(raw.try_into().map_err(|_| bad())?) as f64,
        Type::INT4 => i32::from_be_bytes(raw.try_into().map_err(|_| bad())?) as f64,
        Type::OID => u32::from_be_bytes(raw.try_into().map_err(|_| bad())?) as f64,
        // node-postgres parses the server's shortest float4 text with parseFloat, so the JS value
        // is the double nearest that decimal, not the float's exact value.
        Type::FLOAT4 => {
            let f = f32::from_be_bytes(raw.try_into().map_err(|_| bad())?);
            if f.is_finite() {
                let mut digits = String::new();
                text::push_float4(f, &mut digits);
                digits.parse::<f64>().map_err(|_| bad())?
            } else {
                f as f64
            }
        }
        Type::FLOAT8 => f64::from_be_bytes(raw.try_into().map_err(|_| bad())?),
        _ => return Err(bad()),
    })
}

/// The `dataTypeSize` node-postgres reports in `fields` (the type's `typlen`).
pub fn type_size(ty: &Type) -> i16 {
    match ty.kind() {
        PgKind::Enum(_) => 4,
        PgKind::Domain(base) => type_size(base),
        PgKind::Simple | PgKind::Pseudo => text::builtin_type_size(ty.oid()),
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_nulls() {
        let mut b = ColumnBuilder::new(&Type::INT4, false);
        b.push(Some(&7i32.to_be_bytes())).unwrap();
        b.push(None).unwrap();
        b.push(Some(&(-1i32).to_be_bytes())).unwrap();
        let c = b.finish();
        assert_eq!(c.kind, Kind::Number);
        assert_eq!(c.numbers, [7.0, 0.0, -1.0]);
        assert_eq!(c.nulls, [0, 1, 0]);
    }

    #[test]
    fn float4_is_the_double_nearest_its_shortest_text() {
        let v = number(&Type::FLOAT4, &1.1f32.to_be_bytes()).unwrap();
        assert_eq!(v, 1.1f64);
        assert!(number(&Type::FLOAT4, &f32::NAN.to_be_bytes())
            .unwrap()
            .is_nan());
    }

    #[test]
    fn text_offsets_count_utf16_units() {
        let mut b = ColumnBuilder::new(&Type::TEXT, false);
        b.push(Some("a😀".as_bytes())).unwrap();
        b.push(Some(b"")).unwrap();
        b.push(Some("é".as_bytes())).unwrap();
        let c = b.finish();
        assert_eq!(c.text, "a😀é");
        assert_eq!(c.ends, [3, 3, 4]);
        assert!(c.nulls.is_empty());
    }

    #[test]
    fn json_columns_are_one_array_literal() {
        let mut b = ColumnBuilder::new(&Type::JSONB, false);
        b.push(Some(b"\x01{\"a\": 1}")).unwrap();
        b.push(None).unwrap();
        b.push(Some(b"\x01null")).unwrap();
        let c = b.finish();
        assert_eq!(c.text, "[{\"a\": 1},null,null]");
        assert_eq!(c.nulls, [0, 1, 0]);
    }

    #[test]
    fn user_parsers_force_text() {
        assert_eq!(kind_of(&Type::INT4, true), Kind::Parse);
        assert_eq!(kind_of(&Type::INT8, false), Kind::Text);
        assert_eq!(kind_of(&Type::DATE, false), Kind::Parse);
        assert_eq!(kind_of(&Type::NUMERIC, false), Kind::Text);
    }
}
