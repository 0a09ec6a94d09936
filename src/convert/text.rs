//! PostgreSQL's text output, rendered from the binary form tokio-postgres receives, so that a
//! value reaches JS as exactly the string the server would have sent node-postgres.
use crate::error::Error;
use tokio_postgres::types::{Kind as PgKind, Type};

mod containers;

fn malformed(ty: &Type) -> Error {
    Error::Decode(format!("malformed binary value of type {}", ty.name()))
}

/// Appends the server's text output for the binary value `raw` of type `ty` to `out`.
pub fn render(ty: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    match ty.kind() {
        PgKind::Enum(_) => return utf8(ty, raw, out),
        PgKind::Domain(base) => return render(base, raw, out),
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
    match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML => {
            utf8(ty, raw, out)
        }
        Type::INT2 => fixed::<2>(ty, raw).map(|b| out.push_str(&i16::from_be_bytes(b).to_string())),
        Type::INT4 => fixed::<4>(ty, raw).map(|b| out.push_str(&i32::from_be_bytes(b).to_string())),
        Type::INT8 => fixed::<8>(ty, raw).map(|b| out.push_str(&i64::from_be_bytes(b).to_string())),
        Type::OID => fixed::<4>(ty, raw).map(|b| out.push_str(&u32::from_be_bytes(b).to_string())),
        Type::BOOL => fixed::<1>(ty, raw).map(|b| out.push(if b[0] != 0 { 't' } else { 'f' })),
        _ => Err(Error::Decode(format!(
            "no text output for type {} (oid {})",
            ty.name(),
            ty.oid()
        ))),
    }
}

fn utf8(ty: &Type, raw: &[u8], out: &mut String) -> Result<(), Error> {
    out.push_str(std::str::from_utf8(raw).map_err(|_| malformed(ty))?);
    Ok(())
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

/// `typlen` of a built-in type (`pg_type.typlen`): the `dataTypeSize` of a field.
pub fn builtin_type_size(oid: u32) -> i16 {
    match oid {
        16 | 18 => 1,
        21 => 2,
        27 => 6,
        23 | 26 | 700 | 1082 | 24 | 2202 | 2203 | 2204 | 2205 | 2206 | 3734 | 3769 | 4089
        | 4096 | 4191 | 28 | 29 => 4,
        20 | 701 | 1083 | 1114 | 1184 | 790 | 3220 | 5069 => 8,
        1266 | 1033 => 12,
        1186 => 16,
        19 => 64,
        600 => 16,
        718 => 24,
        601 | 603 => 32,
        628 => 24,
        2950 => 16,
        829 => 6,
        774 => 8,
        _ => -1,
    }
}
