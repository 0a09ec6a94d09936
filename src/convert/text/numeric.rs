//! numeric and money text.
use super::reader::Reader;
use crate::error::Error;
use std::fmt::Write;

/// Sign words of the binary numeric header (`numeric.c`: NUMERIC_POS, NUMERIC_NEG, NUMERIC_NAN,
/// NUMERIC_PINF, NUMERIC_NINF).
const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;

/// numeric: `ndigits`, `weight` (of the first base-10000 digit), sign, `dscale` (decimal digits
/// after the point), then the digits. Like PostgreSQL's `get_str_from_var`, the text shows
/// exactly `dscale` fractional digits, padding with zeros past the stored digits.
pub(super) fn numeric(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let ndigits = usize::try_from(r.i16()?).map_err(|_| r.malformed())?;
    let weight = i32::from(r.i16()?);
    let sign = r.u16()?;
    let dscale = usize::from(r.u16()?);
    let mut digits = Digits { r, left: ndigits };
    match sign {
        NAN | PINF | NINF => {
            out.push_str(match sign {
                NAN => "NaN",
                PINF => "Infinity",
                _ => "-Infinity",
            });
            return digits.finish();
        }
        NEG => out.push('-'),
        POS => {}
        _ => return Err(digits.r.malformed()),
    }
    if weight < 0 {
        out.push('0');
    } else {
        // The first base-10000 digit without leading zeros, the rest as four decimal digits.
        let first = group(digits.next()?);
        let zeros = first.iter().take(3).take_while(|&&c| c == b'0').count();
        push_ascii(out, &first[zeros..]);
        for _ in 1..=weight {
            push_ascii(out, &group(digits.next()?));
        }
    }
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        // Base-10000 digits between the point and the first stored one are zeros.
        let mut before_stored = usize::try_from(-1 - weight).unwrap_or(0);
        while out.len() - start < dscale {
            let d = if before_stored > 0 {
                before_stored -= 1;
                0
            } else {
                digits.next()?
            };
            push_ascii(out, &group(d));
        }
        out.truncate(start + dscale);
    }
    digits.finish()
}

/// The stored base-10000 digits of a numeric, read in order; zeros past the last one.
struct Digits<'r, 'a> {
    r: &'r mut Reader<'a>,
    left: usize,
}

impl Digits<'_, '_> {
    fn next(&mut self) -> Result<u16, Error> {
        if self.left == 0 {
            return Ok(0);
        }
        self.left -= 1;
        match self.r.i16()? {
            d @ 0..=9999 => Ok(d as u16),
            _ => Err(self.r.malformed()),
        }
    }

    /// Reads (and checks) the stored digits the text does not show.
    fn finish(mut self) -> Result<(), Error> {
        while self.left > 0 {
            self.next()?;
        }
        Ok(())
    }
}

/// A base-10000 digit as four decimal digits.
fn group(d: u16) -> [u8; 4] {
    [
        b'0' + (d / 1000) as u8,
        b'0' + (d / 100 % 10) as u8,
        b'0' + (d / 10 % 10) as u8,
        b'0' + (d % 10) as u8,
    ]
}

fn push_ascii(out: &mut String, digits: &[u8]) {
    out.extend(digits.iter().map(|&c| char::from(c)));
}

/// money: an int8 count of cents, printed as PostgreSQL's `cash_out` does under lc_monetary
/// `C`: `$`, two decimals, `,` between thousands, a leading `-` for negative amounts.
pub(super) fn money(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let cents = r.i64()?;
    if cents < 0 {
        out.push('-');
    }
    out.push('$');
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let _ = write!(out, ".{:02}", cents % 100);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    fn bin(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(digits.len() as i16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn num(raw: &[u8]) -> String {
        let mut s = String::new();
        let mut r = Reader::new(&Type::NUMERIC, raw);
        numeric(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    #[test]
    fn zeros_honour_dscale() {
        assert_eq!(num(&bin(0, POS, 0, &[])), "0");
        assert_eq!(num(&bin(0, POS, 2, &[])), "0.00");
        assert_eq!(num(&bin(-1, POS, 5, &[])), "0.00000");
    }

    #[test]
    fn special_values() {
        assert_eq!(num(&bin(0, NAN, 0, &[])), "NaN");
        assert_eq!(num(&bin(0, PINF, 0, &[])), "Infinity");
        assert_eq!(num(&bin(0, NINF, 0, &[])), "-Infinity");
    }

    #[test]
    fn integer_and_fraction_digits() {
        // 12345.678 = 1|2345|6780, weight 1.
        assert_eq!(num(&bin(1, POS, 3, &[1, 2345, 6780])), "12345.678");
        assert_eq!(num(&bin(1, NEG, 3, &[1, 2345, 6780])), "-12345.678");
        // 10000: one digit of weight 1, the zero group after it is implied.
        assert_eq!(num(&bin(1, POS, 0, &[1])), "10000");
        assert_eq!(num(&bin(0, POS, 0, &[42])), "42");
        // 0.0001 has weight -1; 0.00000001 has weight -2.
        assert_eq!(num(&bin(-1, POS, 4, &[1])), "0.0001");
        assert_eq!(num(&bin(-2, POS, 8, &[1])), "0.00000001");
        assert_eq!(num(&bin(-1, NEG, 6, &[5000])), "-0.500000");
    }

    #[test]
    fn extreme_scales_and_weights() {
        let tiny = num(&bin(-250, POS, 1000, &[1]));
        assert_eq!(tiny.len(), 1002);
        assert!(tiny.starts_with("0.000") && tiny.ends_with("0001"));
        let huge = num(&bin(3000, POS, 0, &[9]));
        assert_eq!(huge.len(), 1 + 4 * 3000);
        assert!(huge.starts_with("90000"));
        let fraction = num(&bin(0, POS, 1000, &[1; 251]));
        assert_eq!(fraction.len(), 2 + 1000);
        assert!(fraction.starts_with("1.0001000100"));
    }

    #[test]
    fn rejects_bad_digits_and_signs() {
        let mut s = String::new();
        assert!(numeric(
            &mut Reader::new(&Type::NUMERIC, &bin(0, POS, 0, &[10000])),
            &mut s
        )
        .is_err());
        assert!(numeric(
            &mut Reader::new(&Type::NUMERIC, &bin(0, 0x1234, 0, &[1])),
            &mut s
        )
        .is_err());
        assert!(numeric(&mut Reader::new(&Type::NUMERIC, &[0, 1, 0]), &mut s).is_err());
    }

    fn cash(cents: i64) -> String {
        let mut s = String::new();
        money(&mut Reader::new(&Type::MONEY, &cents.to_be_bytes()), &mut s).unwrap();
        s
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(cash(0), "$0.00");
        assert_eq!(cash(1), "$0.01");
        assert_eq!(cash(123456), "$1,234.56");
        assert_eq!(cash(-123456), "-$1,234.56");
        assert_eq!(cash(100000), "$1,000.00");
        assert_eq!(cash(99999), "$999.99");
        assert_eq!(cash(i64::MIN), "-$92,233,720,368,547,758.08");
        assert_eq!(cash(i64::MAX), "$92,233,720,368,547,758.07");
    }
}
