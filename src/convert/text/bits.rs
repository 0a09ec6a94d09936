//! bit and varbit text: one `0` or `1` per bit.
use super::reader::Reader;
use crate::error::Error;

/// bit and varbit: the length in bits, then the bits packed high-order first.
pub(super) fn bits(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let len = r.count()?;
    let bytes = r.bytes(len.div_ceil(8))?;
    out.reserve(len);
    for i in 0..len {
        let set = bytes[i / 8] & (0x80 >> (i % 8)) != 0;
        out.push(if set { '1' } else { '0' });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    fn text(raw: &[u8]) -> Result<String, Error> {
        let mut s = String::new();
        let mut r = Reader::new(&Type::VARBIT, raw);
        bits(&mut r, &mut s)?;
        r.finish()?;
        Ok(s)
    }

    #[test]
    fn bit_strings() {
        assert_eq!(text(&[0, 0, 0, 4, 0b0101_0000]).unwrap(), "0101");
        assert_eq!(text(&[0, 0, 0, 0]).unwrap(), "");
        assert_eq!(text(&[0, 0, 0, 9, 0xff, 0x80]).unwrap(), "111111111");
        assert!(text(&[0, 0, 0, 9, 0xff]).is_err());
    }
}
