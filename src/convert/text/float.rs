//! float4 and float8 text as PostgreSQL ≥ 12 prints it with `extra_float_digits` ≥ 1: the
//! shortest decimal that reads back as the same float (Ryu, `src/common/d2s.c` and `f2s.c`),
//! laid out like C's `%g`: fixed notation for decimal exponents from -4 up to a limit (below 15
//! for float8, 6 for float4), exponential otherwise (`1e+15`, `1.5e-05`).
use std::fmt::Write;

/// Appends the PostgreSQL text of a float8.
pub(crate) fn push_float8(value: f64, out: &mut String) {
    if !value.is_finite() || value == 0.0 {
        return push_special(value.is_nan(), value.is_sign_negative(), value == 0.0, out);
    }
    let mut digits = Digits::default();
    // `{:e}` prints Rust's shortest round-trip digits, the same digits Ryu picks.
    write!(digits, "{value:e}").expect("a float's digits fit the buffer");
    digits.layout(15, out);
}

/// Appends the PostgreSQL text of a float4.
pub(crate) fn push_float4(value: f32, out: &mut String) {
    if !value.is_finite() || value == 0.0 {
        return push_special(value.is_nan(), value.is_sign_negative(), value == 0.0, out);
    }
    let mut digits = Digits::default();
    write!(digits, "{value:e}").expect("a float's digits fit the buffer");
    digits.layout(6, out);
}

/// NaN, ±Infinity and ±0, which PostgreSQL spells out rather than formats.
fn push_special(nan: bool, negative: bool, zero: bool, out: &mut String) {
    out.push_str(match (nan, zero, negative) {
        (true, _, _) => "NaN",
        (false, true, false) => "0",
        (false, true, true) => "-0",
        (false, false, false) => "Infinity",
        (false, false, true) => "-Infinity",
    });
}

/// Rust's `{:e}` output of a finite nonzero float, such as `-1.2345e-7` (at most 17 digits, a
/// three-digit exponent: 32 bytes is plenty), written without allocating.
#[derive(Default)]
struct Digits {
    buf: [u8; 32],
    len: usize,
}

impl Write for Digits {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Digits {
    /// Lays the digits out as PostgreSQL does: fixed notation when `-4 <= exponent < fixed_below`.
    fn layout(&self, fixed_below: i32, out: &mut String) {
        let text = std::str::from_utf8(&self.buf[..self.len]).expect("formatting writes ASCII");
        let (mantissa, exponent) = text.split_once('e').expect("`{:e}` writes an exponent");
        let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
        let (negative, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mantissa),
        };
        let (first, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if negative {
            out.push('-');
        }
        if (-4..fixed_below).contains(&exponent) {
            if exponent < 0 {
                out.push_str("0.");
                for _ in 0..(-exponent - 1) {
                    out.push('0');
                }
                out.push_str(first);
                out.push_str(rest);
            } else {
                // `exponent` digits go before the point after the first one.
                let int_len = exponent as usize;
                out.push_str(first);
                if rest.len() <= int_len {
                    out.push_str(rest);
                    for _ in rest.len()..int_len {
                        out.push('0');
                    }
                } else {
                    out.push_str(&rest[..int_len]);
                    out.push('.');
                    out.push_str(&rest[int_len..]);
                }
            }
        } else {
            out.push_str(first);
            if !rest.is_empty() {
                out.push('.');
                out.push_str(rest);
            }
            out.push('e');
            out.push(if exponent < 0 { '-' } else { '+' });
            // C's `%e` prints at least two exponent digits.
            let _ = write!(out, "{:02}", exponent.unsigned_abs());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f8(v: f64) -> String {
        let mut s = String::new();
        push_float8(v, &mut s);
        s
    }

    fn f4(v: f32) -> String {
        let mut s = String::new();
        push_float4(v, &mut s);
        s
    }

    #[test]
    fn float8_specials() {
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::INFINITY), "Infinity");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f8(0.0), "0");
        assert_eq!(f8(-0.0), "-0");
    }

    #[test]
    fn float8_fixed_and_exponential_ranges() {
        assert_eq!(f8(1.0), "1");
        assert_eq!(f8(-2.5), "-2.5");
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(1.5e-5), "1.5e-05");
        assert_eq!(f8(123456789012345.0), "123456789012345");
        assert_eq!(f8(999999999999999.0), "999999999999999");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(1234567890123456.0), "1.234567890123456e+15");
        assert_eq!(f8(1e20), "1e+20");
        assert_eq!(f8(123.456), "123.456");
        assert_eq!(f8(100.0), "100");
        assert_eq!(f8(5e-324), "5e-324");
        assert_eq!(f8(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(f8(-1e100), "-1e+100");
        assert_eq!(f8(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn float4_uses_its_own_shortest_digits_and_range() {
        assert_eq!(f4(1.1), "1.1");
        assert_eq!(f4(123456.0), "123456");
        assert_eq!(f4(1234567.0), "1.234567e+06");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4(0.0001), "0.0001");
        assert_eq!(f4(0.00001), "1e-05");
        assert_eq!(f4(16777216.0), "1.6777216e+07");
        assert_eq!(f4(3.4e38), "3.4e+38");
        assert_eq!(f4(1e-45), "1e-45");
        assert_eq!(f4(-0.0), "-0");
        assert_eq!(f4(f32::NAN), "NaN");
        assert_eq!(f4(f32::NEG_INFINITY), "-Infinity");
    }
}
