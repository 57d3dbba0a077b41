//! community.crypto's time specifications (`get_relative_time_option`): `+3650d`,
//! `-1w2d3h4m5s` relative to now, or an absolute ASN.1 time (`20300101000000Z`,
//! `202301010000Z`, with a `+hhmm` offset instead of `Z`), as `YYYYMMDDHHMMSSZ` in UTC.

use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The moment `spec` names (relative ones from `now`), as `YYYYMMDDHHMMSSZ`; the
/// collection's message when it is not a time.
pub fn resolve(spec: &str, input_name: &str, now: OffsetDateTime) -> Result<String, String> {
    let moment = if spec.starts_with(['+', '-']) {
        relative(spec, now)
            .ok_or_else(|| format!("The timespec \"{spec}\" for {input_name} is invalid"))?
    } else {
        absolute(spec)
            .ok_or_else(|| format!("The time spec \"{spec}\" for {input_name} is invalid"))?
    };
    let utc = moment.to_offset(UtcOffset::UTC);
    Ok(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    ))
}

/// `[+-]` then optional `Nw`, `Nd`, `Nh`, `Nm`, `Ns` (the `s` may be left out), in that
/// order, as sshd_config(5) writes durations.
fn relative(spec: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let (sign, mut rest) = spec.split_at(1);
    if rest.is_empty() {
        return None;
    }
    let mut offset = Duration::ZERO;
    for (unit, seconds) in [
        ('w', 604_800),
        ('d', 86_400),
        ('h', 3_600),
        ('m', 60),
        ('s', 1),
    ] {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let after = &rest[digits..];
        let unit_given = after.starts_with([unit, unit.to_ascii_uppercase()]);
        if !(unit_given || unit == 's' && after.is_empty()) {
            continue;
        }
        let count: i64 = rest[..digits].parse().ok()?;
        offset += Duration::seconds(count.checked_mul(seconds)?);
        rest = if unit_given { &after[1..] } else { after };
    }
    if !rest.is_empty() {
        return None;
    }
    let now = now.replace_nanosecond(0).ok()?;
    Some(if sign == "+" {
        now + offset
    } else {
        now - offset
    })
}

/// One of the four absolute forms the collection accepts.
fn absolute(spec: &str) -> Option<OffsetDateTime> {
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = spec.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (with_seconds, zone) = match spec.len() {
        15 if spec.ends_with('Z') => (true, "Z"),
        13 if spec.ends_with('Z') => (false, "Z"),
        19 => (true, &spec[14..]),
        17 => (false, &spec[12..]),
        _ => return None,
    };
    let offset = match zone {
        "Z" => UtcOffset::UTC,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i8 = zone.get(1..3)?.parse().ok()?;
            let minutes: i8 = zone.get(3..5)?.parse().ok()?;
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
    };
    let date = time::Date::from_calendar_date(
        i32::try_from(number(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?,
        u8::try_from(number(6..8)?).ok()?,
    )
    .ok()?;
    let second = if with_seconds { number(12..14)? } else { 0 };
    let clock = time::Time::from_hms(
        u8::try_from(number(8..10)?).ok()?,
        u8::try_from(number(10..12)?).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-03 16:00:00.5 UTC)
    }

    #[test]
    fn relative_times_count_from_now() {
        assert_eq!(resolve("+0s", "x", now()).as_deref(), Ok("20261203160000Z"));
        assert_eq!(
            resolve("+3650d", "x", now()).as_deref(),
            Ok("20361130160000Z"),
            "three leap days"
        );
        assert_eq!(
            resolve("-1w2d3h4m5s", "x", now()).as_deref(),
            Ok("20261124125555Z")
        );
        assert_eq!(
            resolve("+90", "x", now()).as_deref(),
            Ok("20261203160130Z"),
            "seconds without s"
        );
        assert_eq!(
            resolve("+1y", "selfsigned_not_after", now()),
            Err("The timespec \"+1y\" for selfsigned_not_after is invalid".to_string())
        );
        assert!(resolve("+", "x", now()).is_err());
    }

    #[test]
    fn absolute_times_in_the_four_forms() {
        assert_eq!(
            resolve("20300101000000Z", "x", now()).as_deref(),
            Ok("20300101000000Z")
        );
        assert_eq!(
            resolve("203001010000Z", "x", now()).as_deref(),
            Ok("20300101000000Z")
        );
        assert_eq!(
            resolve("20300101020000+0200", "x", now()).as_deref(),
            Ok("20300101000000Z")
        );
        assert_eq!(
            resolve("2030", "x", now()),
            Err("The time spec \"2030\" for x is invalid".to_string())
        );
    }
}
