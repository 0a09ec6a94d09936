//! PostgreSQL's text output, rendered from the binary form tokio-postgres receives, so that a
//! value reaches JS as exactly the string the server would have sent node-postgres.
use crate::error::Error;
use tokio_postgres::types::{Kind as PgKind, Type};

mod bits;
mod bytes;
mod containers;
mod datetime;
mod extension;
mod float;
mod geometric;
mod ids;
mod network;
mod numeric;
mod reader;
mod tsearch;

pub(crate) use float::{push_float4, push_float8};
use reader::Reader;

fn malformed(ty: &Type) -> Error {
    Error::Decode(format!("malformed binary value of type {}", ty.name()))
}

/// Appends the server's text output for the binary value `raw` of type `ty` to `out`.
pub fn render(ty: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    match ty.kind() {
        // An enum's binary form is its label.
        PgKind::Enum(_) => {
            let mut r = Reader::new(ty, raw);
            out.push_str(r.rest_str()?);
            return Ok(());
        }
        PgKind::Domain(base) => return render(base, raw, out),
        PgKind::Array(element) if *ty == Type::INT2_VECTOR || *ty == Type::OID_VECTOR => {
            return containers::vector(element, raw, out)
        }
        PgKind::Array(element) => return containers::array(element, raw, out),
        PgKind::Range(element) => return containers::range(element, raw, out),
        PgKind::Multirange(element) => return containers::multirange(element, raw, out),
        PgKind::Composite(fields) => {
            let types: Vec<Type> = fields.iter().map(|f| f.type_().clone()).collect();
            return containers::record(&types, raw, out);
        }
        _ => {}
    }
    if *ty == Type::RECORD {
        return containers::record(&[], raw, out);
    }
    // tokio-postgres calls record[] a pseudo type, but the server sends it as any other array.
    if *ty == Type::RECORD_ARRAY {
        return containers::array(&Type::RECORD, raw, out);
    }
    let mut r = Reader::new(ty, raw);
    if !scalar(ty, &mut r, out)? {
        return Err(Error::Decode(format!(
            "cannot read values of type {} (oid {}): pg-rust-pool does not know its binary \
             format; cast the column to text in the query (`SELECT col::text`)",
            ty.name(),
            ty.oid()
        )));
    }
    r.finish()
}

/// Whether only the server can give the text of `ty`'s values: names that `reg*` types print
/// come from the catalogs, `aclitem` has no binary form at all, and `anyarray` columns, the
/// extended statistics types and base types we do not know have no binary form we can read, nor
/// has an anonymous record whose fields are of user-defined types.
/// Such columns are read through the simple protocol, whose values are the server's own text.
pub fn server_renders(ty: &Type) -> bool {
    any_part(ty, &|ty| {
        // An anonymous record's fields may be of types only their OIDs name.
        *ty == Type::RECORD || *ty == Type::RECORD_ARRAY || REG_TYPES.contains(ty) || {
            // scalar() tells a type it does not know before it reads any byte.
            let mut out = String::new();
            !matches!(
                scalar(ty, &mut Reader::new(ty, &[]), &mut out),
                Ok(true) | Err(_)
            )
        }
    })
}

/// Whether the text of `ty`'s values depends on session settings the decoder assumes are at
/// their defaults (`TimeZone` inside containers, `DateStyle`, `IntervalStyle`,
/// `extra_float_digits`, `bytea_output`): once a statement changed one of them on a connection,
/// such columns come from the server, as node-postgres gets them.
pub fn session_renders(ty: &Type) -> bool {
    const SETTING_DEPENDENT: [Type; 10] = [
        Type::RECORD,
        Type::RECORD_ARRAY,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::DATE,
        Type::TIMESTAMP,
        Type::TIMESTAMPTZ,
        Type::TIMETZ,
        Type::INTERVAL,
        Type::BYTEA,
    ];
    any_part(ty, &|ty| SETTING_DEPENDENT.contains(ty))
}

/// Whether `ty`, or a type it is made of (element, base, field), is a scalar `leaf` holds for.
fn any_part(ty: &Type, leaf: &dyn Fn(&Type) -> bool) -> bool {
    match ty.kind() {
        PgKind::Enum(_) => false,
        PgKind::Domain(inner)
        | PgKind::Array(inner)
        | PgKind::Range(inner)
        | PgKind::Multirange(inner) => any_part(inner, leaf),
        PgKind::Composite(fields) => fields.iter().any(|f| any_part(f.type_(), leaf)),
        _ => leaf(ty),
    }
}

/// The object identifier types, whose text is an object's name looked up in the catalogs.
const REG_TYPES: [Type; 11] = [
    Type::REGPROC,
    Type::REGPROCEDURE,
    Type::REGOPER,
    Type::REGOPERATOR,
    Type::REGCLASS,
    Type::REGTYPE,
    Type::REGCONFIG,
    Type::REGDICTIONARY,
    Type::REGNAMESPACE,
    Type::REGROLE,
    Type::REGCOLLATION,
];

/// Renders a value of a built-in scalar type or a known extension type; `false` for a type it
/// does not know.
fn scalar(ty: &Type, r: &mut Reader, out: &mut String) -> Result<bool, Error> {
    match *ty {
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::UNKNOWN
        | Type::XML
        | Type::JSON
        | Type::REFCURSOR
        | Type::PG_NODE_TREE
        | Type::CSTRING => out.push_str(r.rest_str()?),
        Type::JSONB => out.push_str(json_text(ty, r.rest())?),
        // jsonpath's binary form is a version byte, then the text the server prints.
        Type::JSONPATH => match r.u8()? {
            1 => out.push_str(r.rest_str()?),
            _ => return Err(r.malformed()),
        },
        Type::VOID => {}
        Type::BOOL => out.push(if r.u8()? != 0 { 't' } else { 'f' }),
        Type::INT2 => push_display(r.i16()?, out),
        Type::INT4 => push_display(r.i32()?, out),
        Type::INT8 => push_display(r.i64()?, out),
        Type::OID => push_display(r.u32()?, out),
        Type::FLOAT4 => push_float4(r.f32()?, out),
        Type::FLOAT8 => push_float8(r.f64()?, out),
        Type::NUMERIC => numeric::numeric(r, out)?,
        Type::MONEY => numeric::money(r, out)?,
        Type::BYTEA => bytes::bytea(r, out)?,
        Type::CHAR => bytes::char(r, out)?,
        Type::UUID => bytes::uuid(r, out)?,
        Type::DATE => datetime::date(r, out)?,
        Type::TIME => datetime::time(r, out)?,
        Type::TIMETZ => datetime::timetz(r, out)?,
        Type::TIMESTAMP => datetime::timestamp(r, out)?,
        Type::TIMESTAMPTZ => datetime::timestamptz(r, out)?,
        Type::INTERVAL => datetime::interval(r, out)?,
        Type::INET => network::inet(r, false, out)?,
        Type::CIDR => network::inet(r, true, out)?,
        Type::MACADDR => network::macaddr(r, out)?,
        Type::MACADDR8 => network::macaddr8(r, out)?,
        Type::BIT | Type::VARBIT => bits::bits(r, out)?,
        Type::POINT => geometric::point(r, out)?,
        Type::LINE => geometric::line(r, out)?,
        Type::LSEG => geometric::lseg(r, out)?,
        Type::BOX => geometric::boxed(r, out)?,
        Type::PATH => geometric::path(r, out)?,
        Type::POLYGON => geometric::polygon(r, out)?,
        Type::CIRCLE => geometric::circle(r, out)?,
        Type::TS_VECTOR => tsearch::tsvector(r, out)?,
        Type::TSQUERY => tsearch::tsquery(r, out)?,
        Type::TID => ids::tid(r, out)?,
        Type::XID | Type::CID => ids::u32_text(r, out)?,
        Type::XID8 => ids::u64_text(r, out)?,
        Type::PG_LSN => ids::pg_lsn(r, out)?,
        Type::TXID_SNAPSHOT | Type::PG_SNAPSHOT => ids::snapshot(r, out)?,
        _ => {
            return match extension::render(ty, r, out) {
                Some(rendered) => rendered.map(|()| true),
                None => Ok(false),
            }
        }
    }
    Ok(true)
}

fn push_display(value: impl std::fmt::Display, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{value}");
}

fn fixed<const N: usize>(ty: &Type, raw: &[u8]) -> Result<[u8; N], Error> {
    raw.try_into().map_err(|_| malformed(ty))
}

/// The JSON text of a binary json or jsonb value (jsonb carries a version byte first).
pub fn json_text<'a>(ty: &Type, raw: &'a [u8]) -> Result<&'a str, Error> {
    let body = match (*ty == Type::JSONB, raw.split_first()) {
        (true, Some((1, rest))) => rest,
        (true, _) => return Err(malformed(ty)),
        (false, _) => raw,
    };
    std::str::from_utf8(body).map_err(|_| malformed(ty))
}

/// Milliseconds since the Unix epoch of a binary timestamptz (microseconds since 2000-01-01),
/// rounded down as node-postgres's parser does; ±Infinity for ±infinity.
pub fn timestamp_millis(raw: &[u8]) -> Result<f64, Error> {
    let micros = i64::from_be_bytes(fixed::<8>(&Type::TIMESTAMPTZ, raw)?);
    Ok(match micros {
        i64::MAX => f64::INFINITY,
        i64::MIN => f64::NEG_INFINITY,
        // 946_684_800_000 ms from 1970-01-01 to 2000-01-01.
        m => (m.div_euclid(1000) + 946_684_800_000) as f64,
    })
}

/// `typlen` of a built-in type (`pg_type.typlen`): the `dataTypeSize` of a field. Taken from
/// PostgreSQL 15's catalog (`SELECT oid, typlen FROM pg_type WHERE oid < 10000`); -1 for
/// variable-length types and for every OID not listed.
pub fn builtin_type_size(oid: u32) -> i16 {
    match oid {
        // bool, "char"
        16 | 18 => 1,
        // int2
        21 => 2,
        // int4, regproc, oid, xid, cid, float4, date, the other reg* types; the 4-byte pseudo
        // types (void, trigger, the handlers, any*, event_trigger)
        23
        | 24
        | 26
        | 28
        | 29
        | 700
        | 1082
        | 2202..=2206
        | 3734
        | 3769
        | 4089
        | 4096
        | 4191
        | 269
        | 325
        | 2276
        | 2278..=2280
        | 2283
        | 2776
        | 3115
        | 3310
        | 3500
        | 3838
        | 5077
        | 5079 => 4,
        // tid, macaddr
        27 | 829 => 6,
        // int8, pg_ddl_command, float8, macaddr8, money, time, timestamp, timestamptz,
        // internal, pg_lsn, xid8
        20 | 32 | 701 | 774 | 790 | 1083 | 1114 | 1184 | 2281 | 3220 | 5069 => 8,
        // aclitem, timetz
        1033 | 1266 => 12,
        // point, interval, uuid
        600 | 1186 | 2950 => 16,
        // line, circle
        628 | 718 => 24,
        // lseg, box
        601 | 603 => 32,
        // name
        19 => 64,
        // unknown, cstring (NUL-terminated)
        705 | 2275 => -2,
        _ => -1,
    }
}
