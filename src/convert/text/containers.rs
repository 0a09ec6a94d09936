//! Text output of container types from their binary form: arrays (any dimension, with lower
//! bounds), ranges, multiranges, and records (composite types and anonymous `record`).
//!
//! The layouts are those of PostgreSQL's send functions and the text those of its output
//! functions (`array_send`/`array_out` in arrayfuncs.c, `range_send`/`range_out` in rangetypes.c,
//! `multirange_send`/`multirange_out` in multirangetypes.c, `record_send`/`record_out` in
//! rowtypes.c). Each element is rendered by [`super::render`] and then quoted by its container's
//! own rule, so containers nest to any depth.
//!
//! A malformed container is reported against its element type (for records, `record`): the
//! element type is all the dispatch in [`super::render`] knows.
use super::Reader;
use crate::error::Error;
use std::fmt::Write;
use tokio_postgres::types::{Kind as PgKind, Type};

// Range flag bits (rangetypes.h).
const RANGE_EMPTY: u8 = 0x01;
const RANGE_LB_INC: u8 = 0x02;
const RANGE_UB_INC: u8 = 0x04;
const RANGE_LB_INF: u8 = 0x08;
const RANGE_UB_INF: u8 = 0x10;

/// The most dimensions an array can have (`MAXDIM` in PostgreSQL's array.h).
const MAX_DIMENSIONS: i32 = 6;

/// A length-prefixed value that cannot be NULL (a range bound, a multirange member).
fn present<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Error> {
    r.value()?.ok_or_else(|| r.malformed())
}

/// How a container escapes `"` and `\` inside a quoted value.
#[derive(Clone, Copy)]
enum Escape {
    /// `\"` and `\\` (arrays).
    Backslash,
    /// `""` and `\\` (ranges, records).
    Double,
}

/// Appends `value`, inside double quotes with `"` and `\` escaped when `quote` is set.
fn push_value(value: &str, quote: bool, escape: Escape, out: &mut String) {
    if !quote {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push(match escape {
                Escape::Backslash => '\\',
                Escape::Double => c,
            });
        }
        out.push(c);
    }
    out.push('"');
}

/// The bytes C's `isspace` accepts in the C locale; range and record output quote on them, and
/// `array_isspace` accepts the same six.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The delimiter between array elements (`pg_type.typdelim`): `;` for box, whose text holds
/// commas, and `,` for every other built-in type. A domain has its base type's delimiter.
fn delimiter(element: &Type) -> u8 {
    match element.kind() {
        PgKind::Domain(base) => delimiter(base),
        _ if *element == Type::BOX => b';',
        _ => b',',
    }
}

/// The dimensions of a binary array as (length, lower bound), outermost first.
fn dimensions(r: &mut Reader<'_>) -> Result<Vec<(usize, i32)>, Error> {
    let ndim = r.i32()?;
    // The has-null flag and the element OID add nothing: each element says whether it is NULL,
    // and the column's type already names the element type.
    r.i32()?;
    r.u32()?;
    if !(0..=MAX_DIMENSIONS).contains(&ndim) {
        return Err(r.malformed());
    }
    (0..ndim)
        .map(|_| {
            let length = usize::try_from(r.i32()?).map_err(|_| r.malformed())?;
            Ok((length, r.i32()?))
        })
        .collect()
}

/// Renders a binary array whose elements are of type `element`.
pub fn array(element: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let mut r = Reader::new(element, raw);
    let dims = dimensions(&mut r)?;
    // array_out writes `{}` for any array without elements, before (so without) dimensions.
    if dims.is_empty() || dims.iter().any(|&(length, _)| length == 0) {
        r.finish()?;
        out.push_str("{}");
        return Ok(());
    }
    if dims.iter().any(|&(_, lb)| lb != 1) {
        for &(length, lb) in &dims {
            // i64: an upper bound near i32::MAX must print, not overflow.
            let ub = i64::from(lb) + length as i64 - 1;
            let _ = write!(out, "[{lb}:{ub}]");
        }
        out.push('=');
    }
    let lengths: Vec<usize> = dims.iter().map(|&(length, _)| length).collect();
    let mut items = Items {
        element,
        delimiter: delimiter(element),
        scratch: String::new(),
    };
    items.write(&mut r, &lengths, out)?;
    r.finish()
}

/// Renders a binary int2vector or oidvector (`pg_index.indkey`, `pg_proc.proargtypes`): sent as
/// a one-dimensional array with lower bound 0, but printed as its elements separated by spaces,
/// without braces (int2vectorout, oidvectorout).
pub fn vector(element: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let mut r = Reader::new(element, raw);
    let length = match dimensions(&mut r)?[..] {
        [] => 0,
        [(length, _)] => length,
        _ => return Err(r.malformed()),
    };
    for i in 0..length {
        if i > 0 {
            out.push(' ');
        }
        let bytes = present(&mut r)?;
        super::render(element, bytes, out)?;
    }
    r.finish()
}

/// Writes an array's elements, dimension by dimension.
struct Items<'t> {
    element: &'t Type,
    delimiter: u8,
    scratch: String,
}

impl Items<'_> {
    /// Writes one sub-array `{…}` spanning `lengths` (the outermost dimension first).
    fn write(
        &mut self,
        r: &mut Reader<'_>,
        lengths: &[usize],
        out: &mut String,
    ) -> Result<(), Error> {
        out.push('{');
        for i in 0..lengths[0] {
            if i > 0 {
                out.push(char::from(self.delimiter));
            }
            if lengths.len() > 1 {
                self.write(r, &lengths[1..], out)?;
                continue;
            }
            let Some(bytes) = r.value()? else {
                out.push_str("NULL");
                continue;
            };
            self.scratch.clear();
            super::render(self.element, bytes, &mut self.scratch)?;
            let v = &self.scratch;
            let quote = v.is_empty()
                || v.eq_ignore_ascii_case("NULL")
                || v.bytes().any(|b| {
                    matches!(b, b'{' | b'}' | b'"' | b'\\') || b == self.delimiter || is_space(b)
                });
            push_value(v, quote, Escape::Backslash, out);
        }
        out.push('}');
        Ok(())
    }
}

/// Renders a binary range over `element`.
pub fn range(element: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let mut r = Reader::new(element, raw);
    let flags = r.u8()?;
    if flags & RANGE_EMPTY != 0 {
        r.finish()?;
        out.push_str("empty");
        return Ok(());
    }
    out.push(if flags & RANGE_LB_INC != 0 { '[' } else { '(' });
    let mut scratch = String::new();
    if flags & RANGE_LB_INF == 0 {
        push_bound(element, present(&mut r)?, &mut scratch, out)?;
    }
    out.push(',');
    if flags & RANGE_UB_INF == 0 {
        push_bound(element, present(&mut r)?, &mut scratch, out)?;
    }
    out.push(if flags & RANGE_UB_INC != 0 { ']' } else { ')' });
    r.finish()
}

/// Appends one range bound, quoted as `range_bound_escape` quotes it.
fn push_bound(
    element: &Type,
    raw: &[u8],
    scratch: &mut String,
    out: &mut String,
) -> Result<(), Error> {
    scratch.clear();
    super::render(element, raw, scratch)?;
    let quote = scratch.is_empty()
        || scratch
            .bytes()
            .any(|b| matches!(b, b'"' | b'\\' | b'(' | b')' | b'[' | b']' | b',') || is_space(b));
    push_value(scratch, quote, Escape::Double, out);
    Ok(())
}

/// Renders a binary multirange whose ranges are over `element`. (tokio-postgres's
/// `Kind::Multirange` carries the element type, not the range type.)
pub fn multirange(element: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    let mut r = Reader::new(element, raw);
    let count = r.count()?;
    out.push('{');
    for i in 0..count {
        if i > 0 {
            out.push(',');
        }
        // Members are written bare: a range's text never needs quoting inside a multirange.
        range(element, present(&mut r)?, out)?;
    }
    out.push('}');
    r.finish()
}

/// Renders a binary record; `fields` gives the declared field types of a composite type (empty
/// for an anonymous record, whose binary form names each field's type OID).
pub fn record(fields: &[Type], raw: &[u8], out: &mut String) -> Result<(), Error> {
    let mut r = Reader::new(&Type::RECORD, raw);
    let count = r.count()?;
    if !fields.is_empty() && count != fields.len() {
        return Err(r.malformed());
    }
    let mut scratch = String::new();
    out.push('(');
    for i in 0..count {
        if i > 0 {
            out.push(',');
        }
        let oid = r.u32()?;
        let looked_up;
        let ty = match fields.get(i) {
            Some(ty) => ty,
            None => {
                looked_up = Type::from_oid(oid).ok_or_else(|| unknown_field_type(oid))?;
                &looked_up
            }
        };
        // NULL is nothing at all between the commas.
        let Some(bytes) = r.value()? else {
            continue;
        };
        scratch.clear();
        super::render(ty, bytes, &mut scratch)?;
        let quote = scratch.is_empty()
            || scratch
                .bytes()
                .any(|b| matches!(b, b'"' | b'\\' | b'(' | b')' | b',') || is_space(b));
        push_value(&scratch, quote, Escape::Double, out);
    }
    out.push(')');
    r.finish()
}

fn unknown_field_type(oid: u32) -> Error {
    Error::Decode(format!(
        "an anonymous record has a field of type OID {oid}, which is not a built-in type and is \
         not described by the record: cast the record to a named composite type (`ROW(…)::my_type`) \
         or select its fields as separate columns"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-prefixed value as the send functions write it (`None` for NULL).
    fn put_value(buf: &mut Vec<u8>, value: Option<&[u8]>) {
        match value {
            None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
                buf.extend_from_slice(v);
            }
        }
    }

    /// A binary array: `dims` as (length, lower bound), elements in row-major order.
    fn array_bin(oid: u32, dims: &[(i32, i32)], elements: &[Option<&[u8]>]) -> Vec<u8> {
        let mut buf = Vec::new();
        buf.extend_from_slice(&(dims.len() as i32).to_be_bytes());
        buf.extend_from_slice(&i32::from(elements.contains(&None)).to_be_bytes());
        buf.extend_from_slice(&oid.to_be_bytes());
        for &(length, lb) in dims {
            buf.extend_from_slice(&length.to_be_bytes());
            buf.extend_from_slice(&lb.to_be_bytes());
        }
        for &e in elements {
            put_value(&mut buf, e);
        }
        buf
    }

    fn range_bin(flags: u8, bounds: &[&[u8]]) -> Vec<u8> {
        let mut buf = vec![flags];
        for &b in bounds {
            put_value(&mut buf, Some(b));
        }
        buf
    }

    fn record_bin(fields: &[(u32, Option<&[u8]>)]) -> Vec<u8> {
        let mut buf = (fields.len() as i32).to_be_bytes().to_vec();
        for &(oid, value) in fields {
            buf.extend_from_slice(&oid.to_be_bytes());
            put_value(&mut buf, value);
        }
        buf
    }

    fn int4(n: i32) -> [u8; 4] {
        n.to_be_bytes()
    }

    fn rendered(f: impl FnOnce(&mut String) -> Result<(), Error>) -> String {
        let mut out = String::new();
        f(&mut out).unwrap();
        out
    }

    #[test]
    fn empty_arrays_are_braces_without_dimensions() {
        let zero_dim = array_bin(23, &[], &[]);
        assert_eq!(rendered(|o| array(&Type::INT4, &zero_dim, o)), "{}");
    }

    #[test]
    fn one_dimension_with_nulls() {
        let (a, b) = (int4(1), int4(-2));
        let raw = array_bin(23, &[(3, 1)], &[Some(&a), None, Some(&b)]);
        assert_eq!(rendered(|o| array(&Type::INT4, &raw, o)), "{1,NULL,-2}");
    }

    #[test]
    fn two_dimensions_nest_braces() {
        let v: Vec<[u8; 4]> = (1..=6).map(int4).collect();
        let raw = array_bin(
            23,
            &[(2, 1), (3, 1)],
            &[
                Some(&v[0]),
                Some(&v[1]),
                None,
                Some(&v[3]),
                Some(&v[4]),
                Some(&v[5]),
            ],
        );
        assert_eq!(
            rendered(|o| array(&Type::INT4, &raw, o)),
            "{{1,2,NULL},{4,5,6}}"
        );
    }

    #[test]
    fn lower_bounds_other_than_one_print_every_dimension() {
        let v: Vec<[u8; 4]> = (1..=4).map(int4).collect();
        let raw = array_bin(
            23,
            &[(2, 0), (2, 1)],
            &[Some(&v[0]), None, Some(&v[2]), Some(&v[3])],
        );
        assert_eq!(
            rendered(|o| array(&Type::INT4, &raw, o)),
            "[0:1][1:2]={{1,NULL},{3,4}}"
        );
        let raw = array_bin(23, &[(1, -5)], &[Some(&v[0])]);
        assert_eq!(rendered(|o| array(&Type::INT4, &raw, o)), "[-5:-5]={1}");
    }

    #[test]
    fn array_elements_are_quoted_when_they_would_not_read_back() {
        let items: [&[u8]; 10] = [
            b"",
            b"null",
            b"NULLS",
            b"a b",
            b"a\"b",
            b"a\\b",
            b"{x}",
            b"a,b",
            b"tab\there",
            "é".as_bytes(),
        ];
        let elements: Vec<Option<&[u8]>> = items.iter().map(|&i| Some(i)).collect();
        let raw = array_bin(25, &[(10, 1)], &elements);
        assert_eq!(
            rendered(|o| array(&Type::TEXT, &raw, o)),
            concat!(
                r#"{"","null",NULLS,"a b","a\"b","a\\b","{x}","a,b","#,
                "\"tab\there\",é}"
            )
        );
    }

    #[test]
    fn box_arrays_use_semicolons_and_commas_need_no_quotes() {
        assert_eq!(delimiter(&Type::BOX), b';');
        assert_eq!(delimiter(&Type::TEXT), b',');
        let raw = array_bin(25, &[(2, 1)], &[Some(b"a,b"), Some(b"c;d")]);
        let mut items = Items {
            element: &Type::TEXT,
            delimiter: b';',
            scratch: String::new(),
        };
        let mut out = String::new();
        let mut r = Reader::new(&Type::TEXT, &raw[20..]);
        items.write(&mut r, &[2], &mut out).unwrap();
        assert_eq!(out, r#"{a,b;"c;d"}"#);
    }

    #[test]
    fn malformed_arrays_are_decode_errors() {
        let (a, b) = (int4(1), int4(2));
        let mut raw = array_bin(23, &[(2, 1)], &[Some(&a), Some(&b)]);
        raw.pop();
        assert!(matches!(
            array(&Type::INT4, &raw, &mut String::new()),
            Err(Error::Decode(m)) if m == "malformed binary value of type int4"
        ));
        let too_deep = array_bin(23, &[(1, 1); 7], &[Some(&a)]);
        assert!(array(&Type::INT4, &too_deep, &mut String::new()).is_err());
        let trailing = [array_bin(23, &[], &[]), vec![0]].concat();
        assert!(array(&Type::INT4, &trailing, &mut String::new()).is_err());
    }

    #[test]
    fn vectors_are_space_separated() {
        let (a, b) = (2i16.to_be_bytes(), (-1i16).to_be_bytes());
        let raw = array_bin(21, &[(2, 0)], &[Some(&a), Some(&b)]);
        assert_eq!(rendered(|o| vector(&Type::INT2, &raw, o)), "2 -1");
        let empty = array_bin(21, &[], &[]);
        assert_eq!(rendered(|o| vector(&Type::INT2, &empty, o)), "");
        let with_null = array_bin(21, &[(1, 0)], &[None]);
        assert!(vector(&Type::INT2, &with_null, &mut String::new()).is_err());
    }

    #[test]
    fn ranges_print_brackets_by_inclusivity() {
        let (one, ten) = (int4(1), int4(10));
        let raw = range_bin(RANGE_LB_INC, &[&one, &ten]);
        assert_eq!(rendered(|o| range(&Type::INT4, &raw, o)), "[1,10)");
        let raw = range_bin(RANGE_UB_INC, &[&one, &ten]);
        assert_eq!(rendered(|o| range(&Type::INT4, &raw, o)), "(1,10]");
    }

    #[test]
    fn empty_and_unbounded_ranges() {
        assert_eq!(rendered(|o| range(&Type::INT4, &[RANGE_EMPTY], o)), "empty");
        let five = int4(5);
        let raw = range_bin(RANGE_LB_INF | RANGE_UB_INC, &[&five]);
        assert_eq!(rendered(|o| range(&Type::INT4, &raw, o)), "(,5]");
        let raw = range_bin(RANGE_LB_INC | RANGE_UB_INF, &[&five]);
        assert_eq!(rendered(|o| range(&Type::INT4, &raw, o)), "[5,)");
        let raw = range_bin(RANGE_LB_INF | RANGE_UB_INF, &[]);
        assert_eq!(rendered(|o| range(&Type::INT4, &raw, o)), "(,)");
    }

    #[test]
    fn range_bounds_are_quoted_with_doubled_escapes() {
        let raw = range_bin(RANGE_LB_INC, &[b"", b"a \"b\" \\ [c]"]);
        assert_eq!(
            rendered(|o| range(&Type::TEXT, &raw, o)),
            r#"["","a ""b"" \\ [c]")"#
        );
        let raw = range_bin(RANGE_LB_INC | RANGE_UB_INC, &[b"a", b"b,c"]);
        assert_eq!(rendered(|o| range(&Type::TEXT, &raw, o)), r#"[a,"b,c"]"#);
    }

    #[test]
    fn a_range_missing_a_bound_is_malformed() {
        let raw = range_bin(RANGE_LB_INC, &[&int4(1)]);
        assert!(range(&Type::INT4, &raw, &mut String::new()).is_err());
    }

    #[test]
    fn multiranges_list_their_ranges() {
        let (a, b, c, d) = (int4(1), int4(3), int4(5), int4(7));
        let r1 = range_bin(RANGE_LB_INC, &[&a, &b]);
        let r2 = range_bin(RANGE_LB_INC, &[&c, &d]);
        let mut raw = 2i32.to_be_bytes().to_vec();
        put_value(&mut raw, Some(&r1));
        put_value(&mut raw, Some(&r2));
        assert_eq!(
            rendered(|o| multirange(&Type::INT4, &raw, o)),
            "{[1,3),[5,7)}"
        );
        let none = 0i32.to_be_bytes();
        assert_eq!(rendered(|o| multirange(&Type::INT4, &none, o)), "{}");
    }

    #[test]
    fn anonymous_records_look_up_builtin_field_types() {
        let one = int4(1);
        let raw = record_bin(&[(23, Some(&one)), (25, Some(b"abc")), (25, None)]);
        assert_eq!(rendered(|o| record(&[], &raw, o)), "(1,abc,)");
    }

    #[test]
    fn record_values_are_quoted_with_doubled_escapes() {
        let raw = record_bin(&[
            (25, Some(b"")),
            (25, Some(b"a b")),
            (25, Some(b"say \"hi\"")),
            (25, Some(b"back\\slash")),
            (25, Some(b"(x,y)")),
            (25, Some(b"[ok]")),
        ]);
        assert_eq!(
            rendered(|o| record(&[], &raw, o)),
            r#"("","a b","say ""hi""","back\\slash","(x,y)",[ok])"#
        );
    }

    #[test]
    fn composite_fields_come_from_the_declared_types() {
        // The declared type wins over the OID in the binary form.
        let raw = record_bin(&[(0, Some(b"x")), (0, None)]);
        let fields = [Type::TEXT, Type::INT4];
        assert_eq!(rendered(|o| record(&fields, &raw, o)), "(x,)");
        assert!(record(&fields[..1], &raw, &mut String::new()).is_err());
    }

    #[test]
    fn unknown_field_types_say_what_to_do() {
        let raw = record_bin(&[(987_654, Some(b"x"))]);
        let err = record(&[], &raw, &mut String::new()).unwrap_err();
        assert!(
            matches!(err, Error::Decode(m) if m.contains("OID 987654") && m.contains("::my_type"))
        );
    }

    #[test]
    fn record_arrays_hold_anonymous_records() {
        let one = int4(1);
        let rec = record_bin(&[(23, Some(&one)), (25, Some(b"a b"))]);
        let raw = array_bin(2249, &[(2, 1)], &[Some(&rec), None]);
        let mut out = String::new();
        super::super::render(&Type::RECORD_ARRAY, &raw, &mut out).unwrap();
        assert_eq!(out, r#"{"(1,\"a b\")",NULL}"#);
    }

    #[test]
    fn containers_nest() {
        // A record holding an int4[] and a text: the array's text is then quoted by the record.
        let (a, b) = (int4(1), int4(2));
        let arr = array_bin(23, &[(2, 1)], &[Some(&a), Some(&b)]);
        let raw = record_bin(&[(1007, Some(&arr)), (25, Some(b"z"))]);
        assert_eq!(rendered(|o| record(&[], &raw, o)), r#"("{1,2}",z)"#);
    }
}
