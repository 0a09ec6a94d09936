//! Byte-oriented values: bytea, "char" and uuid.
use super::reader::Reader;
use crate::error::Error;
use std::fmt::Write;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// bytea under `bytea_output = 'hex'`: `\x` and two lowercase hex digits per byte.
pub(super) fn bytea(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let bytes = r.rest();
    out.reserve(2 + 2 * bytes.len());
    out.push_str("\\x");
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    Ok(())
}

/// "char": its one byte; NUL prints as nothing and bytes ≥ 0x80 as `\ooo` octal (`charout`).
pub(super) fn char(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    match r.u8()? {
        0 => {}
        b if b < 0x80 => out.push(char::from(b)),
        b => {
            let _ = write!(out, "\\{b:03o}");
        }
    }
    Ok(())
}

/// uuid: lowercase `8-4-4-4-12` hex.
pub(super) fn uuid(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    for (i, b) in r.bytes(16)?.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    type Render = fn(&mut Reader, &mut String) -> Result<(), Error>;

    fn text(f: Render, raw: &[u8]) -> String {
        let mut s = String::new();
        let mut r = Reader::new(&Type::BYTEA, raw);
        f(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    #[test]
    fn bytea_is_hex() {
        assert_eq!(text(bytea, &[]), "\\x");
        assert_eq!(text(bytea, &[0, 0xab, 0x10, 0xff]), "\\x00ab10ff");
    }

    #[test]
    fn char_escapes_high_bytes() {
        assert_eq!(text(char, b"a"), "a");
        assert_eq!(text(char, &[0]), "");
        assert_eq!(text(char, &[0x80]), "\\200");
        assert_eq!(text(char, &[0xff]), "\\377");
        assert_eq!(text(char, b"\\"), "\\");
    }

    #[test]
    fn uuid_groups() {
        let raw: Vec<u8> = (0..16).map(|i| i * 17).collect();
        assert_eq!(text(uuid, &raw), "00112233-4455-6677-8899-aabbccddeeff");
    }
}
