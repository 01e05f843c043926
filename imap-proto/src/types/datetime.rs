//! Dates (`date`, for SEARCH) and date-times (`date-time`, for APPEND and
//! INTERNALDATE), RFC 9051 §9.

use super::ValidationError;
use crate::core::{PResult, fail};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::bytes::complete::{tag, take, take_while_m_n};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date (always valid: day exists in its month).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

impl Date {
    /// A date; the year has four digits on the wire.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, ValidationError> {
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(ValidationError::OutOfRange);
        }
        Ok(Date { year, month, day })
    }

    /// Year.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// Month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// Day of month, 1–31.
    pub fn day(&self) -> u8 {
        self.day
    }

    fn month_name(&self) -> &'static str {
        MONTHS
            .get(usize::from(self.month) - 1)
            .copied()
            .unwrap_or("Jan")
    }
}

/// `date-text = date-day "-" date-month "-" date-year`, e.g. `1-Feb-1994`.
impl Encode for Date {
    fn encode(&self, enc: &mut Encoder) {
        let s = format!("{}-{}-{:04}", self.day, self.month_name(), self.year);
        enc.put_str(&s);
    }
}

/// A date, time and zone (`date-time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Offset from UTC in minutes.
    zone: i16,
}

impl DateTime {
    /// A date-time; `zone_minutes` is the offset from UTC (−5999..=5999
    /// as `±HHMM` allows two digits each).
    pub fn new(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        zone_minutes: i16,
    ) -> Result<Self, ValidationError> {
        if hour > 23 || minute > 59 || second > 60 || zone_minutes.unsigned_abs() > 99 * 60 + 59 {
            return Err(ValidationError::OutOfRange);
        }
        Ok(DateTime {
            date,
            hour,
            minute,
            second,
            zone: zone_minutes,
        })
    }

    /// The date.
    pub fn date(&self) -> Date {
        self.date
    }
    /// Hour, minute, second.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }
    /// Offset from UTC in minutes.
    pub fn zone_minutes(&self) -> i16 {
        self.zone
    }

    /// The UTC date-time `secs` seconds after 1970-01-01T00:00:00Z (a
    /// store's INTERNALDATE, RFC 9051 §2.3.3); a time outside the years
    /// `date-time` can write (1–9999) gives the epoch itself.
    pub fn from_unix_seconds(secs: i64) -> DateTime {
        // Plain arithmetic, the civil date cached per day: a SELECT
        // converts two dates per message.
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days_cached(days);
        let epoch = DateTime {
            date: Date {
                year: 1970,
                month: 1,
                day: 1,
            },
            hour: 0,
            minute: 0,
            second: 0,
            zone: 0,
        };
        if !(1..=9999).contains(&y) {
            return epoch;
        }
        // In range: year 1..=9999, month 1..=12, day 1..=31, time < 86 400 s.
        DateTime {
            date: Date {
                year: y as u16,
                month: m as u8,
                day: d as u8,
            },
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            zone: 0,
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z of this date-time, its zone
    /// applied (APPEND's date for the store, SORT ARRIVAL).
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.date.year),
            i64::from(self.date.month),
            i64::from(self.date.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone) * 60
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, which counts 400-year eras of 146 097 days from
/// 0000-03-01 so that the leap day ends each year).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// [`civil_from_days`] behind a one-entry cache per thread: a SELECT
/// converts two dates per message (INTERNALDATE, SAVEDATE), and the
/// messages of a mailbox arrive in runs on the same day, in UID order.
/// The conversion was 13 % of a 100,000-message SELECT's samples (issue
/// "IMAP performance": SELECT of 100,000 messages < 20 ms).
fn civil_from_days_cached(days: i64) -> (i64, i64, i64) {
    use std::cell::Cell;
    thread_local! {
        static LAST: Cell<(i64, (i64, i64, i64))> = const { Cell::new((0, (1970, 1, 1))) };
    }
    LAST.with(|last| {
        let (day, civil) = last.get();
        if day == days {
            return civil;
        }
        let civil = civil_from_days(days);
        last.set((days, civil));
        civil
    })
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01: the inverse of [`days_from_civil`] (Hinnant's
/// `civil_from_days`, over the same 400-year eras).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`;
/// the day is written `SP DIGIT` below 10, as RFC 9051 examples do.
impl Encode for DateTime {
    fn encode(&self, enc: &mut Encoder) {
        let sign = if self.zone < 0 { '-' } else { '+' };
        let z = self.zone.unsigned_abs();
        let s = format!(
            "\"{:>2}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\"",
            self.date.day,
            self.date.month_name(),
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            sign,
            z / 60,
            z % 60
        );
        enc.put_str(&s);
    }
}

fn digits(i: &[u8], min: usize, max: usize) -> PResult<'_, u16> {
    let (rest, d) = take_while_m_n(min, max, |b: u8| b.is_ascii_digit()).parse(i)?;
    let n = d.iter().fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    Ok((rest, n))
}

/// `date-month = "Jan" / "Feb" / ... / "Dec"` (case-insensitive)
fn date_month(i: &[u8]) -> PResult<'_, u8> {
    let (rest, m) = take(3usize).parse(i)?;
    let pos = MONTHS
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(m))
        .ok_or_else(|| fail(i))?;
    Ok((rest, pos as u8 + 1))
}

/// `date-text = date-day "-" date-month "-" date-year`
fn date_text(i: &[u8]) -> PResult<'_, Date> {
    let (rest, day) = digits(i, 1, 2)?;
    let (rest, _) = tag(&b"-"[..]).parse(rest)?;
    let (rest, month) = date_month(rest)?;
    let (rest, _) = tag(&b"-"[..]).parse(rest)?;
    let (rest, year) = digits(rest, 4, 4)?;
    let d = Date::new(year, month, day as u8).map_err(|_| fail(i))?;
    Ok((rest, d))
}

/// `date = date-text / DQUOTE date-text DQUOTE`
pub(crate) fn date(i: &[u8]) -> PResult<'_, Date> {
    if let Some(r) = i.strip_prefix(b"\"") {
        let (r, d) = date_text(r)?;
        let (r, _) = tag(&b"\""[..]).parse(r)?;
        return Ok((r, d));
    }
    date_text(i)
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`;
/// `date-day-fixed = (SP DIGIT) / 2DIGIT`; `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`;
/// `zone = ("+" / "-") 4DIGIT`
pub(crate) fn date_time(i: &[u8]) -> PResult<'_, DateTime> {
    let (r, _) = tag(&b"\""[..]).parse(i)?;
    let (r, day) = match r.strip_prefix(b" ") {
        Some(r) => digits(r, 1, 1)?,
        None => digits(r, 2, 2)?,
    };
    let (r, _) = tag(&b"-"[..]).parse(r)?;
    let (r, month) = date_month(r)?;
    let (r, _) = tag(&b"-"[..]).parse(r)?;
    let (r, year) = digits(r, 4, 4)?;
    let (r, _) = tag(&b" "[..]).parse(r)?;
    let (r, hour) = digits(r, 2, 2)?;
    let (r, _) = tag(&b":"[..]).parse(r)?;
    let (r, minute) = digits(r, 2, 2)?;
    let (r, _) = tag(&b":"[..]).parse(r)?;
    let (r, second) = digits(r, 2, 2)?;
    let (r, _) = tag(&b" "[..]).parse(r)?;
    let (r, sign) = take(1usize).parse(r)?;
    let neg = match sign {
        b"+" => false,
        b"-" => true,
        _ => return Err(fail(i)),
    };
    let (r, zh) = digits(r, 2, 2)?;
    let (r, zm) = digits(r, 2, 2)?;
    let (r, _) = tag(&b"\""[..]).parse(r)?;
    if zm > 59 {
        return Err(fail(i));
    }
    let zone = (zh * 60 + zm) as i16;
    let date = Date::new(year, month, day as u8).map_err(|_| fail(i))?;
    let dt = DateTime::new(
        date,
        hour as u8,
        minute as u8,
        second as u8,
        if neg { -zone } else { zone },
    )
    .map_err(|_| fail(i))?;
    Ok((r, dt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    #[test]
    fn date_known_answers() {
        let d = Date::new(1994, 2, 1).unwrap();
        assert_eq!(date(b"1-Feb-1994 x"), Ok((&b" x"[..], d)));
        assert_eq!(date(b"\"01-feb-1994\""), Ok((&b""[..], d)));
        assert!(date(b"30-Feb-1994").is_err());
        assert!(date(b"29-Feb-1900").is_err());
        assert!(date(b"29-Feb-2000").is_ok());
        assert!(date(b"1-Foo-1994").is_err());
        assert_eq!(d.to_bytes(Version::Rev1), b"1-Feb-1994".to_vec());
    }

    #[test]
    fn date_time_known_answers() {
        let input = b"\"17-Jul-1996 02:44:25 -0700\" x";
        let (rest, dt) = date_time(input).unwrap();
        assert_eq!(rest, b" x");
        assert_eq!(dt.date(), Date::new(1996, 7, 17).unwrap());
        assert_eq!(dt.time(), (2, 44, 25));
        assert_eq!(dt.zone_minutes(), -420);
        assert_eq!(
            dt.to_bytes(Version::Rev1),
            b"\"17-Jul-1996 02:44:25 -0700\"".to_vec()
        );
        let (_, dt) = date_time(b"\" 7-Feb-1994 21:52:25 +0530\"").unwrap();
        assert_eq!(dt.zone_minutes(), 330);
        assert_eq!(
            dt.to_bytes(Version::Rev1),
            b"\" 7-Feb-1994 21:52:25 +0530\"".to_vec()
        );
        assert!(date_time(b"\"17-Jul-1996 24:00:00 +0000\"").is_err());
        assert!(date_time(b"\"7-Jul-1996 02:44:25 +0000\"").is_err());
    }

    /// Known answers from RFC 9051's example (`17-Jul-1996 02:44:25 -0700`
    /// is 09:44:25Z, 837 596 665 s), the epoch, a leap day and the last
    /// second of 9999; and the round trip through the seconds.
    #[test]
    fn unix_seconds_known_answers() {
        let (_, dt) = date_time(b"\"17-Jul-1996 02:44:25 -0700\"").unwrap();
        assert_eq!(dt.unix_seconds(), 837_596_665);
        let utc = DateTime::from_unix_seconds(837_596_665);
        assert_eq!(
            utc.to_bytes(Version::Rev1),
            b"\"17-Jul-1996 09:44:25 +0000\"".to_vec()
        );
        assert_eq!(
            DateTime::from_unix_seconds(951_782_400).to_bytes(Version::Rev1),
            b"\"29-Feb-2000 00:00:00 +0000\"".to_vec()
        );
        let last = DateTime::new(Date::new(9999, 12, 31).unwrap(), 23, 59, 59, 0).unwrap();
        assert_eq!(last.unix_seconds(), 253_402_300_799);
        for secs in [0i64, 86_399, 951_782_400, 1_795_366_237, 253_402_300_799] {
            assert_eq!(DateTime::from_unix_seconds(secs).unix_seconds(), secs);
        }
        // Before 1970 (years 1..=1969 are writable too).
        let (_, old) = date_time(b"\" 1-Jan-0001 00:00:00 +0000\"").unwrap();
        assert_eq!(DateTime::from_unix_seconds(old.unix_seconds()), old);
        assert_eq!(
            DateTime::from_unix_seconds(-1).to_bytes(Version::Rev1),
            b"\"31-Dec-1969 23:59:59 +0000\"".to_vec()
        );
        // Out of the writable years: the epoch, never a panic.
        for secs in [-62_135_596_801i64, 253_402_300_800, i64::MIN, i64::MAX] {
            assert_eq!(
                DateTime::from_unix_seconds(secs).unix_seconds(),
                0,
                "{secs}"
            );
        }
    }

    /// The arithmetic agrees with mail-parser's conversion (which it
    /// replaced on the SELECT path) across the years 1970..=9999.
    #[test]
    fn from_unix_seconds_agrees_with_mail_parser() {
        let mut secs = 0i64;
        while secs <= 253_402_300_799 {
            let ours = DateTime::from_unix_seconds(secs);
            let theirs = mail_parser::DateTime::from_timestamp(secs);
            let (h, m, s) = ours.time();
            assert_eq!(
                (
                    ours.date().year(),
                    ours.date().month(),
                    ours.date().day(),
                    h,
                    m,
                    s
                ),
                (
                    theirs.year,
                    theirs.month,
                    theirs.day,
                    theirs.hour,
                    theirs.minute,
                    theirs.second
                ),
                "{secs}"
            );
            secs += 79_199_991;
        }
    }

    /// The one-day cache answers for the day it holds only: dates that
    /// alternate between days, repeat within one, or fall before 1970
    /// convert as without it.
    #[test]
    fn the_day_cache_changes_no_answer() {
        let day = 86_400i64;
        let samples = [
            0,
            day - 1,
            day,
            0,
            1_764_547_200,
            1_764_547_200 + 3_600,
            1_764_547_200 - 1,
            -1,
            -day,
            1_764_547_200 + 7 * day,
            1_764_547_200,
        ];
        for secs in samples {
            let ours = DateTime::from_unix_seconds(secs);
            let (y, m, d) = civil_from_days(secs.div_euclid(day));
            let expect = if (1..=9999).contains(&y) {
                (y as u16, m as u8, d as u8)
            } else {
                (1970, 1, 1)
            };
            assert_eq!(
                (ours.date().year(), ours.date().month(), ours.date().day()),
                expect,
                "{secs}"
            );
        }
        // 1969-12-31 and 2025-12-01, each right after the other's day.
        assert_eq!(DateTime::from_unix_seconds(-1).date().day(), 31);
        assert_eq!(
            DateTime::from_unix_seconds(1_764_547_200).date().month(),
            12
        );
        assert_eq!(DateTime::from_unix_seconds(-1).date().year(), 1969);
    }
}
