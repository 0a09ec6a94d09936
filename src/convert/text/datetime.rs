//! date, time, timetz, timestamp, timestamptz and interval text under DateStyle `ISO, MDY` and
//! IntervalStyle `postgres` (`datetime.c`: EncodeDateOnly, EncodeTimeOnly, EncodeDateTime,
//! EncodeInterval).
use super::reader::Reader;
use crate::error::Error;
use std::fmt::Write;

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i64 = 10_957;

/// date: days since 2000-01-01; `i32::MIN`/`i32::MAX` are -infinity/infinity.
pub(super) fn date(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    match r.i32()? {
        i32::MAX => out.push_str("infinity"),
        i32::MIN => out.push_str("-infinity"),
        days => {
            let year = push_date(i64::from(days), out);
            push_era(year, out);
        }
    }
    Ok(())
}

/// time: microseconds since midnight (24:00:00 included).
pub(super) fn time(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let micros = r.i64()?;
    if !(0..=USECS_PER_DAY).contains(&micros) {
        return Err(r.malformed());
    }
    push_time(micros, out);
    Ok(())
}

/// timetz: microseconds since midnight, then the zone's offset in seconds west of UTC.
pub(super) fn timetz(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    time(r, out)?;
    let west = r.i32()?;
    push_zone(west, out);
    Ok(())
}

/// timestamp: microseconds since 2000-01-01 00:00; `i64::MIN`/`i64::MAX` are ±infinity.
pub(super) fn timestamp(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    push_timestamp(r.i64()?, false, out);
    Ok(())
}

/// timestamptz: microseconds since 2000-01-01 00:00 UTC. The session's TimeZone is unknown
/// here, so the text is the one the server prints when TimeZone is `UTC`: the UTC wall time
/// with the offset `+00`. With another session TimeZone the server would print the same instant
/// in that zone, so this text can differ from what node-postgres receives (the instant is the
/// same).
pub(super) fn timestamptz(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    push_timestamp(r.i64()?, true, out);
    Ok(())
}

/// interval: microseconds, days, months, printed in IntervalStyle `postgres`: each nonzero
/// year/mon/day part with its own sign (`+` when it follows a negative part), then the time of
/// day with one sign for the whole of it, or `00:00:00` when everything is zero.
pub(super) fn interval(r: &mut Reader, out: &mut String) -> Result<(), Error> {
    let micros = r.i64()?;
    let days = r.i32()?;
    let months = r.i32()?;
    // C's `/` and `%` truncate toward zero, as Rust's do.
    let mut zero = true;
    let mut before = false;
    push_interval_part(i64::from(months / 12), "year", &mut zero, &mut before, out);
    push_interval_part(i64::from(months % 12), "mon", &mut zero, &mut before, out);
    push_interval_part(i64::from(days), "day", &mut zero, &mut before, out);
    if zero || micros != 0 {
        let hours = micros / USECS_PER_HOUR;
        let minutes = (micros % USECS_PER_HOUR) / USECS_PER_MINUTE;
        let seconds = (micros % USECS_PER_MINUTE) / USECS_PER_SEC;
        let fraction = micros % USECS_PER_SEC;
        if !zero {
            out.push(' ');
        }
        if micros < 0 {
            out.push('-');
        } else if before {
            out.push('+');
        }
        let _ = write!(
            out,
            "{:02}:{:02}:",
            hours.unsigned_abs(),
            minutes.unsigned_abs()
        );
        push_seconds(seconds.unsigned_abs(), fraction.unsigned_abs(), out);
    }
    Ok(())
}

/// One `AddPostgresIntPart`: `3 days`, `1 year`, `-2 mons`, `+4 days` after a negative part.
fn push_interval_part(
    value: i64,
    unit: &str,
    zero: &mut bool,
    before: &mut bool,
    out: &mut String,
) {
    if value == 0 {
        return;
    }
    if !*zero {
        out.push(' ');
    }
    if *before && value > 0 {
        out.push('+');
    }
    let _ = write!(out, "{value} {unit}");
    if value != 1 {
        out.push('s');
    }
    *before = value < 0;
    *zero = false;
}

fn push_timestamp(micros: i64, utc: bool, out: &mut String) {
    match micros {
        i64::MAX => out.push_str("infinity"),
        i64::MIN => out.push_str("-infinity"),
        _ => {
            let year = push_date(micros.div_euclid(USECS_PER_DAY), out);
            out.push(' ');
            push_time(micros.rem_euclid(USECS_PER_DAY), out);
            if utc {
                out.push_str("+00");
            }
            push_era(year, out);
        }
    }
}

/// Writes `YYYY-MM-DD` (years before 1 AD as their BC number) for a day counted from
/// 2000-01-01 and returns the astronomical year (0 is 1 BC), for [`push_era`].
fn push_date(days: i64, out: &mut String) -> i64 {
    let (year, month, day) = civil_from_days(days + PG_EPOCH_DAYS);
    let shown = if year > 0 { year } else { 1 - year };
    let _ = write!(out, "{shown:04}-{month:02}-{day:02}");
    year
}

/// ` BC` after a whole date or timestamp whose year is before 1 AD.
fn push_era(year: i64, out: &mut String) {
    if year <= 0 {
        out.push_str(" BC");
    }
}

/// Proleptic Gregorian (year, month, day) of a day counted from 1970-01-01, the calendar
/// PostgreSQL's `j2date` uses for every date (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `HH:MM:SS[.ffffff]` of a non-negative count of microseconds within a day.
fn push_time(micros: i64, out: &mut String) {
    let micros = micros.unsigned_abs();
    let (h, m) = (
        micros / USECS_PER_HOUR as u64,
        micros / USECS_PER_MINUTE as u64 % 60,
    );
    let _ = write!(out, "{h:02}:{m:02}:");
    let s = micros / USECS_PER_SEC as u64 % 60;
    push_seconds(s, micros % USECS_PER_SEC as u64, out);
}

/// PostgreSQL's `AppendSeconds`: two-digit seconds, then the microseconds without trailing zeros.
fn push_seconds(seconds: u64, micros: u64, out: &mut String) {
    let _ = write!(out, "{seconds:02}");
    if micros != 0 {
        let mut fraction = micros;
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{fraction:0width$}");
    }
}

/// PostgreSQL's `EncodeTimezone` for an offset in seconds west of UTC: `+05:30`, `-08`,
/// `+05:30:15`.
fn push_zone(west: i32, out: &mut String) {
    out.push(if west <= 0 { '+' } else { '-' });
    let total = west.unsigned_abs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let _ = write!(out, "{h:02}");
    if s != 0 {
        let _ = write!(out, ":{m:02}:{s:02}");
    } else if m != 0 {
        let _ = write!(out, ":{m:02}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    type Render = fn(&mut Reader, &mut String) -> Result<(), Error>;

    fn text(f: Render, ty: &Type, raw: &[u8]) -> String {
        let mut s = String::new();
        let mut r = Reader::new(ty, raw);
        f(&mut r, &mut s).unwrap();
        r.finish().unwrap();
        s
    }

    fn d(days: i32) -> String {
        text(date, &Type::DATE, &days.to_be_bytes())
    }

    #[test]
    fn dates_ad_bc_and_infinity() {
        assert_eq!(d(0), "2000-01-01");
        assert_eq!(d(7426), "2020-05-01");
        assert_eq!(d(-1), "1999-12-31");
        assert_eq!(d(59), "2000-02-29");
        // Day numbers from the server: `SELECT '0044-03-15 BC'::date - '2000-01-01'::date`.
        assert_eq!(d(-746_117), "0044-03-15 BC");
        assert_eq!(d(-730_119), "0001-01-01");
        assert_eq!(d(-730_120), "0001-12-31 BC");
        assert_eq!(d(-2_451_545), "4714-11-24 BC");
        assert_eq!(d(2_921_940), "10000-01-01");
        assert_eq!(d(i32::MAX), "infinity");
        assert_eq!(d(i32::MIN), "-infinity");
    }

    fn t(micros: i64) -> String {
        text(time, &Type::TIME, &micros.to_be_bytes())
    }

    #[test]
    fn times_trim_fraction_zeros() {
        assert_eq!(t(0), "00:00:00");
        assert_eq!(t(((4 * 60 + 5) * 60 + 6) * USECS_PER_SEC), "04:05:06");
        assert_eq!(
            t(((4 * 60 + 5) * 60 + 6) * USECS_PER_SEC + 500_000),
            "04:05:06.5"
        );
        assert_eq!(t(1), "00:00:00.000001");
        assert_eq!(t(123_450), "00:00:00.12345");
        assert_eq!(t(USECS_PER_DAY), "24:00:00");
    }

    fn tz(micros: i64, west: i32) -> String {
        let mut raw = micros.to_be_bytes().to_vec();
        raw.extend_from_slice(&west.to_be_bytes());
        text(timetz, &Type::TIMETZ, &raw)
    }

    #[test]
    fn timetz_offsets() {
        let at = ((4 * 60 + 5) * 60 + 6) * USECS_PER_SEC;
        assert_eq!(tz(at + 500_000, -19_800), "04:05:06.5+05:30");
        assert_eq!(tz(at, 28_800), "04:05:06-08");
        assert_eq!(tz(at, -7_200), "04:05:06+02");
        assert_eq!(tz(at, 0), "04:05:06+00");
        assert_eq!(tz(at, -19_815), "04:05:06+05:30:15");
    }

    fn ts(micros: i64, utc: bool) -> String {
        let f: Render = if utc { timestamptz } else { timestamp };
        text(f, &Type::TIMESTAMP, &micros.to_be_bytes())
    }

    #[test]
    fn timestamps() {
        // 2020-01-01 is 7305 days after 2000-01-01.
        let noon = 7305 * USECS_PER_DAY + 12 * USECS_PER_HOUR;
        assert_eq!(ts(noon + 123_456, false), "2020-01-01 12:00:00.123456");
        assert_eq!(ts(noon, true), "2020-01-01 12:00:00+00");
        assert_eq!(ts(-1, false), "1999-12-31 23:59:59.999999");
        let bc = -746_117 * USECS_PER_DAY + 12 * USECS_PER_HOUR;
        assert_eq!(ts(bc + 1_500_000, false), "0044-03-15 12:00:01.5 BC");
        assert_eq!(ts(bc, true), "0044-03-15 12:00:00+00 BC");
        assert_eq!(ts(i64::MAX, true), "infinity");
        assert_eq!(ts(i64::MIN, false), "-infinity");
    }

    fn iv(micros: i64, days: i32, months: i32) -> String {
        let mut raw = micros.to_be_bytes().to_vec();
        raw.extend_from_slice(&days.to_be_bytes());
        raw.extend_from_slice(&months.to_be_bytes());
        text(interval, &Type::INTERVAL, &raw)
    }

    #[test]
    fn interval_signs() {
        let hms = ((4 * 60 + 5) * 60 + 6) * USECS_PER_SEC;
        assert_eq!(
            iv(hms + 789_000, 3, 14),
            "1 year 2 mons 3 days 04:05:06.789"
        );
        assert_eq!(iv(2 * USECS_PER_HOUR, -1, 0), "-1 days +02:00:00");
        assert_eq!(iv(-hms, 0, 0), "-04:05:06");
        assert_eq!(iv(0, 0, 0), "00:00:00");
        assert_eq!(
            iv(-hms - 500_000, 3, -14),
            "-1 years -2 mons +3 days -04:05:06.5"
        );
        assert_eq!(iv(0, -1, 1), "1 mon -1 days");
        assert_eq!(iv(0, 1, -1), "-1 mons +1 day");
        assert_eq!(iv(-500_000, 0, 0), "-00:00:00.5");
        assert_eq!(iv(100_000 * USECS_PER_HOUR, 0, 0), "100000:00:00");
        assert_eq!(iv(-USECS_PER_SEC, 1, 0), "1 day -00:00:01");
        assert_eq!(iv(0, 0, 12), "1 year");
        assert_eq!(
            iv(i64::MIN, i32::MIN, i32::MIN),
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808"
        );
    }
}
