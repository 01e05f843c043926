//! The IMAP `date-time` of fixtures' `internal_date` (RFC 9051 §9):
//!
//! ```text
//! date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
//!             SP time SP zone DQUOTE
//! ```
//!
//! accepted without the quotes, with a one- or two-digit (or space-padded)
//! day: `01-Jan-2024 00:00:00 +0000`, ` 1-Jan-2024 09:30:00 -0500`.

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits<const N: usize>(s: &str) -> Option<u32> {
    (s.len() == N && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Seconds since the epoch, or `None` when `text` is not a date-time.
#[must_use]
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(' ')?;
    let (time, zone) = rest.trim_start().split_once(' ')?;
    let mut d = date.split('-');
    let day = d.next()?;
    let day: u32 = if day.len() <= 2 && !day.is_empty() && day.bytes().all(|b| b.is_ascii_digit()) {
        day.parse().ok()?
    } else {
        return None;
    };
    let month = d.next()?.to_ascii_lowercase();
    let month = u32::try_from(MONTHS.iter().position(|m| *m == month)?).ok()? + 1;
    let year = digits::<4>(d.next()?)?;
    if d.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.split(':');
    let hour = digits::<2>(t.next()?)?;
    let minute = digits::<2>(t.next()?)?;
    let second = digits::<2>(t.next()?)?;
    if t.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (sign, zone) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let zone = digits::<4>(zone)?;
    let offset = i64::from(zone / 100 * 3600 + zone % 100 * 60) * sign;
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn known_answers() {
        assert_eq!(parse("01-Jan-2024 00:00:00 +0000"), Some(1_704_067_200));
        assert_eq!(parse(" 1-Jan-2024 00:00:00 +0000"), Some(1_704_067_200));
        assert_eq!(parse("01-Jan-1970 01:00:00 +0100"), Some(0));
        assert_eq!(parse("29-Feb-2024 12:00:00 -0500"), Some(1_709_226_000));
        assert_eq!(parse("01-Foo-2024 00:00:00 +0000"), None);
        assert_eq!(parse("2024-01-01T00:00:00Z"), None);
        assert_eq!(parse("01-Jan-2024 24:00:00 +0000"), None);
        assert_eq!(parse("01-Jan-2024 00:00:00"), None);
    }
}
