//! The results of one query as they cross to JS: one byte buffer of numbers and a few strings, so
//! the JS thread creates a handful of values per query instead of an object per result, field and
//! column (building those through napi cost more than the query's round trip). `lib/rows.js`
//! reads it back; the layout below is the contract between the two.
//!
//! `texts[0]` holds the commands and field names; every text or JSON column has strings of its
//! own, moved rather than copied: one, or several when the column is longer than a part
//! (`convert::PART_BYTES`). (One string for everything made the JS values sliced from it
//! share one parent, and W3's garbage collection time tripled.)
//!
//! `meta` is a sequence of little-endian 32-bit words (`u32` unless marked `i32`); runs of `f64`
//! start on an 8-byte boundary (a padding word is skipped when needed) and byte runs are padded
//! to a whole word. Text positions are UTF-16 offsets, the unit of JS strings.
//!
//! ```text
//! results
//! per result:  flags (1 command, 2 rowCount), commandStart, commandLength,
//!              rowCountLow, rowCountHigh, rows, fieldCount,
//!              per field:  nameStart, nameLength, tableID, columnID (i32), dataTypeID,
//!                          dataTypeSize (i32), dataTypeModifier (i32)
//!              per column: kind, flags (1 nulls),
//!                          [nulls: `rows` bytes, 1 for NULL],
//!                          Number, Date:  `rows` f64
//!                          Bool:          `rows` bytes, 0 or 1
//!                          Text, Parse:   parts, then per part: the index of its string in
//!                                         `texts`, its rows, and their end offsets in it
//!                          Json:          parts, then per part: the index of its string (one
//!                                         JSON array literal of its rows)
//!                          Bytes:         byteLength, `rows` end offsets, then the bytes
//! ```
use crate::convert::{utf16_len, Column, Kind};
use crate::result::ResultSet;

/// The encoded results of one query.
#[derive(Debug, Default)]
pub struct Encoded {
    /// Words, numbers and bytes (see the module documentation).
    pub meta: Vec<u8>,
    /// Commands and field names first, then one string per text or JSON column.
    pub texts: Vec<String>,
}

impl Encoded {
    /// Encodes `results`.
    pub fn new(results: Vec<ResultSet>) -> Encoded {
        let (meta, texts, names) = sizes(&results);
        let mut strings = Vec::with_capacity(texts);
        strings.push(String::with_capacity(names));
        let mut w = Writer {
            meta: Vec::with_capacity(meta),
            texts: strings,
            units: 0,
        };
        w.word(results.len() as u32);
        for result in results {
            w.result(result);
        }
        Encoded {
            meta: w.meta,
            texts: w.texts,
        }
    }
}

/// The sizes `results` encode to: bytes of `meta` (at most: padding is counted whether or not
/// it is needed), strings in `texts`, and bytes of `texts[0]`; so that the buffers are allocated
/// once instead of growing through a dozen reallocations for a small result.
fn sizes(results: &[ResultSet]) -> (usize, usize, usize) {
    let (mut meta, mut texts, mut names) = (4, 1, 0);
    for r in results {
        meta += 4 * (7 + 7 * r.fields.len());
        names += r.command.as_ref().map_or(0, String::len);
        names += r.fields.iter().map(|f| f.name.len()).sum::<usize>();
        for c in &r.columns {
            // kind, flags, nulls and their padding, an alignment word, then the values.
            meta += 8 + c.nulls.len() + 4 + 4;
            meta += match c.kind {
                Kind::Number | Kind::Date => 8 * c.numbers.len(),
                Kind::Bool => c.bytes.len() + 3,
                Kind::Text | Kind::Parse => 4 + 8 * c.parts.len() + 4 * c.ends.len(),
                Kind::Json => 4 + 4 * c.parts.len(),
                Kind::Bytes => 4 + 4 * c.ends.len() + c.bytes.len() + 3,
            };
            texts += c.parts.len();
        }
    }
    (meta, texts, names)
}

struct Writer {
    meta: Vec<u8>,
    texts: Vec<String>,
    /// Length of `texts[0]` in UTF-16 units.
    units: usize,
}

impl Writer {
    fn word(&mut self, v: u32) {
        self.meta.extend_from_slice(&v.to_le_bytes());
    }

    fn signed(&mut self, v: i32) {
        self.meta.extend_from_slice(&v.to_le_bytes());
    }

    /// Pads `meta` to a multiple of `n` bytes.
    fn align(&mut self, n: usize) {
        let padded = self.meta.len().next_multiple_of(n);
        self.meta.resize(padded, 0);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.meta.extend_from_slice(b);
        self.align(4);
    }

    /// Appends `s` to `texts[0]` and writes its start and length.
    fn string(&mut self, s: &str) {
        let units = utf16_len(s);
        self.texts[0].push_str(s);
        self.word(self.units as u32);
        self.word(units as u32);
        self.units += units;
    }

    /// Adds a column's string and writes its index.
    fn own_string(&mut self, s: String) {
        self.word(self.texts.len() as u32);
        self.texts.push(s);
    }

    fn result(&mut self, r: ResultSet) {
        let flags = u32::from(r.command.is_some()) | u32::from(r.row_count.is_some()) << 1;
        self.word(flags);
        self.string(r.command.as_deref().unwrap_or(""));
        let count = r.row_count.unwrap_or(0);
        self.word(count as u32);
        self.word((count >> 32) as u32);
        self.word(r.rows as u32);
        self.word(r.fields.len() as u32);
        for f in &r.fields {
            self.string(&f.name);
            self.word(f.table_id);
            self.signed(f.column_id.into());
            self.word(f.data_type_id);
            self.signed(f.data_type_size.into());
            self.signed(f.data_type_modifier);
        }
        for c in r.columns {
            self.column(c);
        }
    }

    fn column(&mut self, c: Column) {
        self.word(c.kind as u32);
        self.word(u32::from(!c.nulls.is_empty()));
        if !c.nulls.is_empty() {
            self.bytes(&c.nulls);
        }
        match c.kind {
            Kind::Number | Kind::Date => {
                self.align(8);
                for n in &c.numbers {
                    self.meta.extend_from_slice(&n.to_le_bytes());
                }
            }
            Kind::Bool => self.bytes(&c.bytes),
            Kind::Text | Kind::Parse => {
                self.word(c.parts.len() as u32);
                let mut ends = c.ends.iter();
                for part in c.parts {
                    self.own_string(part.text);
                    self.word(part.rows as u32);
                    for &end in ends.by_ref().take(part.rows) {
                        self.word(end);
                    }
                }
            }
            Kind::Json => {
                self.word(c.parts.len() as u32);
                for part in c.parts {
                    self.own_string(part.text);
                }
            }
            Kind::Bytes => {
                self.word(c.bytes.len() as u32);
                for &end in &c.ends {
                    self.word(end);
                }
                self.bytes(&c.bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ColumnBuilder;
    use crate::result::Field;
    use tokio_postgres::types::Type;

    /// Reads `meta` back the way `lib/rows.js` does.
    struct Reader<'a> {
        meta: &'a [u8],
        at: usize,
    }

    impl Reader<'_> {
        fn word(&mut self) -> u32 {
            let w = u32::from_le_bytes(self.meta[self.at..self.at + 4].try_into().unwrap());
            self.at += 4;
            w
        }
        fn f64(&mut self) -> f64 {
            assert_eq!(self.at % 8, 0, "f64 runs are 8-byte aligned");
            let v = f64::from_le_bytes(self.meta[self.at..self.at + 8].try_into().unwrap());
            self.at += 8;
            v
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            let b = self.meta[self.at..self.at + n].to_vec();
            self.at += n.next_multiple_of(4);
            b
        }
    }

    fn column(ty: &Type, values: &[Option<&[u8]>]) -> Column {
        let mut b = ColumnBuilder::new(ty, false);
        for v in values {
            b.push(*v).unwrap();
        }
        b.finish()
    }

    fn field(name: &str, data_type_id: u32) -> Field {
        Field {
            name: name.into(),
            table_id: 16384,
            column_id: 2,
            data_type_id,
            data_type_size: -1,
            data_type_modifier: -1,
        }
    }

    #[test]
    fn one_result_of_every_layout() {
        let result = ResultSet {
            command: Some("SELECT".into()),
            row_count: Some(2),
            fields: vec![
                field("n", 23),
                field("é", 25),
                field("b", 16),
                field("j", 3802),
                field("x", 17),
            ],
            columns: vec![
                column(&Type::INT4, &[Some(&5i32.to_be_bytes()), None]),
                column(&Type::TEXT, &[Some("a😀".as_bytes()), Some(b"z")]),
                column(&Type::BOOL, &[Some(&[1]), Some(&[0])]),
                column(&Type::JSONB, &[Some(b"\x01{\"a\":1}"), None]),
                column(&Type::BYTEA, &[Some(&[1, 2, 3]), Some(&[])]),
            ],
            rows: 2,
        };
        let (meta, texts, names) = sizes(std::slice::from_ref(&result));
        let e = Encoded::new(vec![result]);
        assert_eq!(e.meta.len() % 4, 0);
        assert!(e.meta.len() <= meta, "{} > {meta}: meta grew", e.meta.len());
        assert!(
            meta - e.meta.len() <= 4 * 5 * 2 + 12,
            "the estimate is close"
        );
        assert_eq!(e.texts.len(), texts);
        assert_eq!(e.texts[0].len(), names);
        let mut r = Reader {
            meta: &e.meta,
            at: 0,
        };
        let text16: Vec<u16> = e.texts[0].encode_utf16().collect();
        let slice = |start: u32, len: u32| {
            String::from_utf16(&text16[start as usize..(start + len) as usize]).unwrap()
        };
        assert_eq!(r.word(), 1, "one result");
        assert_eq!(r.word(), 3, "command and row count");
        let (start, len) = (r.word(), r.word());
        assert_eq!(slice(start, len), "SELECT");
        assert_eq!((r.word(), r.word()), (2, 0), "row count, low and high");
        assert_eq!(r.word(), 2, "rows");
        assert_eq!(r.word(), 5, "fields");
        let mut names = Vec::new();
        for _ in 0..5 {
            let (start, len) = (r.word(), r.word());
            names.push(slice(start, len));
            assert_eq!(r.word(), 16384);
            assert_eq!(r.word(), 2);
            r.word();
            assert_eq!(r.word() as i32, -1);
            assert_eq!(r.word() as i32, -1);
        }
        assert_eq!(names, ["n", "é", "b", "j", "x"]);
        // int4 with a NULL
        assert_eq!((r.word(), r.word()), (Kind::Number as u32, 1));
        assert_eq!(r.bytes(2), [0, 1]);
        if !r.at.is_multiple_of(8) {
            r.word();
        }
        assert_eq!((r.f64(), r.f64()), (5.0, 0.0));
        // text, with a character outside the BMP
        assert_eq!((r.word(), r.word()), (Kind::Text as u32, 0));
        assert_eq!(r.word(), 1, "one part");
        assert_eq!(e.texts[r.word() as usize], "a😀z");
        assert_eq!(r.word(), 2, "rows in the part");
        assert_eq!((r.word(), r.word()), (3, 4), "UTF-16 end offsets");
        // bool
        assert_eq!((r.word(), r.word()), (Kind::Bool as u32, 0));
        assert_eq!(r.bytes(2), [1, 0]);
        // json with a NULL
        assert_eq!((r.word(), r.word()), (Kind::Json as u32, 1));
        assert_eq!(r.bytes(2), [0, 1]);
        assert_eq!(r.word(), 1, "one part");
        assert_eq!(e.texts[r.word() as usize], "[{\"a\":1},null]");
        // bytea
        assert_eq!((r.word(), r.word()), (Kind::Bytes as u32, 0));
        assert_eq!(r.word(), 3, "byte length");
        assert_eq!((r.word(), r.word()), (3, 3));
        assert_eq!(r.bytes(3), [1, 2, 3]);
        assert_eq!(r.at, e.meta.len(), "nothing left over");
    }

    #[test]
    fn a_column_in_parts_gives_each_part_its_string_rows_and_offsets() {
        use crate::convert::Part;
        let part = |text: &str, rows| Part {
            text: text.into(),
            rows,
        };
        let column = Column {
            kind: Kind::Text,
            nulls: vec![],
            numbers: vec![],
            parts: vec![part("abc", 2), part("é", 1)],
            ends: vec![1, 3, 1],
            bytes: vec![],
        };
        let result = ResultSet {
            command: Some("SELECT".into()),
            row_count: Some(3),
            fields: vec![field("t", 25)],
            columns: vec![column],
            rows: 3,
        };
        let (meta, texts, _) = sizes(std::slice::from_ref(&result));
        let e = Encoded::new(vec![result]);
        assert!(e.meta.len() <= meta && e.texts.len() == texts);
        let mut r = Reader {
            meta: &e.meta,
            at: 4 * (8 + 7),
        };
        assert_eq!((r.word(), r.word()), (Kind::Text as u32, 0));
        assert_eq!(r.word(), 2, "two parts");
        assert_eq!(e.texts[r.word() as usize], "abc");
        assert_eq!((r.word(), r.word(), r.word()), (2, 1, 3));
        assert_eq!(e.texts[r.word() as usize], "é");
        assert_eq!((r.word(), r.word()), (1, 1));
        assert_eq!(r.at, e.meta.len(), "nothing left over");
    }

    #[test]
    fn empty_queries_and_large_counts() {
        let empty = ResultSet {
            command: None,
            row_count: None,
            fields: vec![],
            columns: vec![],
            rows: 0,
        };
        let insert = ResultSet {
            command: Some("INSERT".into()),
            row_count: Some(5_000_000_000),
            fields: vec![],
            columns: vec![],
            rows: 0,
        };
        let e = Encoded::new(vec![empty, insert]);
        let mut r = Reader {
            meta: &e.meta,
            at: 0,
        };
        assert_eq!(r.word(), 2);
        assert_eq!(r.word(), 0, "no command, no row count");
        r.at += 4 * 6;
        assert_eq!(r.word(), 3);
        r.at += 4 * 2;
        let (low, high) = (r.word() as u64, r.word() as u64);
        assert_eq!(high << 32 | low, 5_000_000_000);
        assert_eq!(e.texts, ["INSERT"]);
    }
}
