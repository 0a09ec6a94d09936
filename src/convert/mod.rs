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

/// How the JS facade turns a column's buffers into values. `lib/rows.js` takes the numbers from
/// [`Kind::NAMES`] (through `NativePool.constants()`), never a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `numbers` holds the values.
    Number = 0,
    /// `bytes` holds one byte per row, 0 or 1.
    Bool = 1,
    /// `parts` hold the values joined, `ends` their end offsets in their part in UTF-16 code
    /// units.
    Text = 2,
    /// Each of `parts` is one JSON array literal holding its rows' values (`null` for SQL NULL).
    Json = 3,
    /// `bytes` holds the values joined, `ends` their end offsets in bytes.
    Bytes = 4,
    /// `numbers` holds milliseconds since the epoch (±Infinity for ±infinity).
    Date = 5,
    /// Like `Text`, but JS passes each value through the type's text parser.
    Parse = 6,
}

impl Kind {
    /// Each kind's name and number as `lib/rows.js` knows them: it takes this table
    /// (`constants()`), so the two sides cannot disagree.
    pub const NAMES: [(&'static str, Kind); 7] = [
        ("number", Kind::Number),
        ("bool", Kind::Bool),
        ("text", Kind::Text),
        ("json", Kind::Json),
        ("bytes", Kind::Bytes),
        ("date", Kind::Date),
        ("parse", Kind::Parse),
    ];
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
    /// Joined text (`Text`, `Parse`, `Json`), in parts: each becomes a JS string, and JS strings
    /// have a greatest length, so a part ends between two values once it passes [`PART_BYTES`].
    pub parts: Vec<Part>,
    /// End offset of each row's value in its part (UTF-16 units) or in `bytes`.
    pub ends: Vec<u32>,
    /// Raw bytes (`Bool`, `Bytes`).
    pub bytes: Vec<u8>,
}

/// Consecutive rows of a text or JSON column, joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The values (`Json`: as one JSON array literal).
    pub text: String,
    /// How many rows it holds.
    pub rows: usize,
}

impl Part {
    fn new(text: &str) -> Part {
        Part {
            text: text.to_owned(),
            rows: 0,
        }
    }
}

/// The longest string JS can hold, in UTF-16 code units: V8's `String::kMaxLength` on 64-bit
/// platforms (Node's `buffer.constants.MAX_STRING_LENGTH`).
pub const MAX_STRING_UNITS: usize = (1 << 29) - 24;

/// A part of a text or JSON column holds values until it passes this many bytes; far below
/// [`MAX_STRING_UNITS`], so a column of any total length crosses as long as each value fits.
pub const PART_BYTES: usize = 64 << 20;

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
    /// Length of the last part in UTF-16 units (`Text`, `Parse`).
    utf16_len: usize,
}

impl ColumnBuilder {
    /// A builder for a column of type `ty`; `as_text` when a user parser takes the text form.
    pub fn new(ty: &Type, as_text: bool) -> Self {
        let kind = kind_of(ty, as_text);
        let parts = match kind {
            Kind::Text | Kind::Parse => vec![Part::new("")],
            Kind::Json => vec![Part::new("[")],
            _ => Vec::new(),
        };
        ColumnBuilder {
            ty: ty.clone(),
            column: Column {
                kind,
                nulls: Vec::new(),
                numbers: Vec::new(),
                parts,
                ends: Vec::new(),
                bytes: Vec::new(),
            },
            rows: 0,
            utf16_len: 0,
        }
    }

    /// A builder for a column of type `ty` whose values arrive as the server's text (the simple
    /// protocol): JS parses them as node-postgres parses the same text.
    pub fn server_text(ty: &Type, user_parser: bool) -> Self {
        let mut builder = ColumnBuilder::new(ty, true);
        if !user_parser && !has_js_parser(ty.oid()) {
            builder.column.kind = Kind::Text;
        }
        builder
    }

    /// Adds the next row's value as the server's text (`None` for SQL NULL); only for a builder
    /// made by [`ColumnBuilder::server_text`].
    pub fn push_text(&mut self, value: Option<&str>) -> Result<(), Error> {
        self.null_or_not(value.is_none());
        let write = value.map(|text| {
            move |out: &mut String| {
                out.push_str(text);
                Ok(())
            }
        });
        append_text(&mut self.column, &mut self.utf16_len, write)
    }

    /// Marks the next row as NULL or not.
    fn null_or_not(&mut self, null: bool) {
        let c = &mut self.column;
        if null {
            if c.nulls.is_empty() {
                c.nulls.resize(self.rows, 0);
            }
            c.nulls.push(1);
        } else if !c.nulls.is_empty() {
            c.nulls.push(0);
        }
        self.rows += 1;
    }

    /// Adds the next row's value (`None` for SQL NULL).
    pub fn push(&mut self, value: Option<&[u8]>) -> Result<(), Error> {
        self.null_or_not(value.is_none());
        let c = &mut self.column;
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
                let json = match value {
                    None => "null",
                    Some(raw) => text::json_text(&self.ty, raw)?,
                };
                // The value goes between brackets, in a part of its own at worst.
                if json.len() > MAX_STRING_UNITS - 2 && utf16_len(json) > MAX_STRING_UNITS - 2 {
                    return Err(too_long(json.len()));
                }
                let mut part = c.parts.last_mut().expect("a JSON column has a part");
                if part.rows > 0 && part.text.len() + 1 + json.len() + 1 > PART_BYTES {
                    part.text.push(']');
                    c.parts.push(Part::new("["));
                    part = c.parts.last_mut().expect("just pushed");
                }
                if part.rows > 0 {
                    part.text.push(',');
                }
                part.text.push_str(json);
                part.rows += 1;
            }
            Kind::Text | Kind::Parse => {
                let ty = &self.ty;
                let write = value.map(|raw| move |out: &mut String| text::render(ty, raw, out));
                return append_text(&mut self.column, &mut self.utf16_len, write);
            }
        }
        Ok(())
    }

    /// The finished column.
    pub fn finish(mut self) -> Column {
        if self.column.kind == Kind::Json {
            if let Some(part) = self.column.parts.last_mut() {
                part.text.push(']');
            }
        }
        self.column
    }
}

/// Appends a column's next row's text, which `write` adds to a string (`None` for SQL NULL).
fn append_text(
    c: &mut Column,
    units_so_far: &mut usize,
    write: Option<impl FnOnce(&mut String) -> Result<(), Error>>,
) -> Result<(), Error> {
    let mut part = c.parts.last_mut().expect("a text column has a part");
    if let Some(write) = write {
        // On an error the whole result fails, so a half-rendered value never shows.
        let start = part.text.len();
        write(&mut part.text)?;
        let units = utf16_len(&part.text[start..]);
        if units > MAX_STRING_UNITS {
            return Err(too_long(part.text.len() - start));
        }
        if start > 0 && part.text.len() > PART_BYTES {
            let moved = part.text.split_off(start);
            c.parts.push(Part {
                text: moved,
                rows: 0,
            });
            part = c.parts.last_mut().expect("just pushed");
            *units_so_far = 0;
        }
        *units_so_far += units;
    }
    part.rows += 1;
    c.ends.push(offset(*units_so_far)?);
    Ok(())
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
        Error::ResultTooLarge(
            "a column of the result holds more than 4 GiB: fetch its rows in smaller batches \
             (LIMIT and OFFSET, or a cursor)"
                .into(),
        )
    })
}

/// The error for a value of `bytes` bytes that is too long for a JS string.
fn too_long(bytes: usize) -> Error {
    Error::ResultTooLarge(format!(
        "a value of the result is {bytes} bytes long, more than JS can hold in one string \
         ({MAX_STRING_UNITS} characters): select it in pieces, e.g. \
         substring(col from 1 for 100000000)"
    ))
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
mod tests;
