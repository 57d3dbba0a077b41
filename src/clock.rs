//! Timestamps in the formats Ansible prints (`start`, `end`, `delta`).

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::format_description;

/// The local time as `2024-05-01 12:00:00.123456`.
pub fn now_local() -> String {
    local(OffsetDateTime::now_utc())
}

/// A moment in local time as Python's `str(datetime)` writes it:
/// `2024-05-01 12:00:00.123456`, without the fraction when it is zero.
pub fn python_datetime(moment: std::time::SystemTime) -> String {
    let text = local(OffsetDateTime::from(moment));
    match text.strip_suffix(".000000") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

fn local(moment: OffsetDateTime) -> String {
    let moment = match time::UtcOffset::current_local_offset() {
        Ok(offset) => moment.to_offset(offset),
        Err(_) => moment,
    };
    moment
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
        ))
        .unwrap_or_default()
}

/// A duration as Python's `timedelta` prints it: `0:00:01.234567`.
pub fn delta(elapsed: Duration) -> String {
    let total = elapsed.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        total / 3600,
        (total / 60) % 60,
        total % 60,
        elapsed.subsec_micros()
    )
}

/// The timestamp in backup file names, as Ansible writes it: `2024-05-01@12:00:00`.
pub fn backup_stamp() -> String {
    let now = OffsetDateTime::now_local().unwrap_or_else(|_| OffsetDateTime::now_utc());
    now.format(format_description!(
        "[year]-[month]-[day]@[hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_looks_like_timedelta() {
        assert_eq!(delta(Duration::from_micros(1_234_567)), "0:00:01.234567");
        assert_eq!(delta(Duration::from_secs(3725)), "1:02:05.000000");
    }
}
