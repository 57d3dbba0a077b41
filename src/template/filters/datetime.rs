//! Time in templates: the `strftime` filter (Python's `time.strftime` of the local
//! or UTC time) and the `now()` function (a naive `datetime`, local or UTC).
//! Formatting is the C library's `strftime`, as Python's is, with `%f` (and the
//! empty `%z`/`%Z` of a naive `datetime`) handled first, as `datetime.strftime`
//! does.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Enumerator, Kwargs, Object, Value};
use minijinja::{Environment, Error, State};

use crate::template::args::fail;

/// Registers the filter and the function of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("strftime", strftime_filter);
    env.add_function("now", now);
}

/// `'%Y-%m-%d' | strftime(second=None, utc=False)`: the time `second` (epoch
/// seconds, default now) formatted, as Ansible's filter does.
fn strftime_filter(format: String, second: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let second = match second.or(kwargs.get::<Option<Value>>("second")?) {
        None => epoch_now(),
        Some(value) if value.is_none() => epoch_now(),
        Some(value) => seconds_of(&value)?,
    };
    kwargs.assert_all_used()?;
    let tm =
        broken_down(second.floor() as libc::time_t, utc.unwrap_or(false)).ok_or_else(|| {
            fail(
                "strftime",
                format!("Invalid value for epoch value ({second})"),
            )
        })?;
    Ok(c_strftime(&format, &tm))
}

/// `now(utc=False, fmt=None)`: the current time as a naive `datetime`, or formatted
/// with `fmt`.
fn now(_state: &State, kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let format: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let moment = DateTime::now(utc.unwrap_or(false))
        .ok_or_else(|| fail("now", "the clock is before 1970"))?;
    Ok(match format {
        Some(format) => Value::from(moment.strftime(&format)),
        None => Value::from_object(moment),
    })
}

/// The current time as epoch seconds.
fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Epoch seconds from a number or a numeric string, as Python's `float()`.
fn seconds_of(value: &Value) -> Result<f64, Error> {
    if let Some(text) = value.as_str() {
        return text.trim().parse().map_err(|_| {
            fail(
                "strftime",
                format!("Invalid value for epoch value ({text})"),
            )
        });
    }
    f64::try_from(value.clone()).map_err(|_| {
        fail(
            "strftime",
            format!("Invalid value for epoch value ({value})"),
        )
    })
}

/// `seconds` since the epoch as the C library's broken-down local or UTC time.
fn broken_down(time: libc::time_t, utc: bool) -> Option<libc::tm> {
    // SAFETY: `tm` is plain data; localtime_r/gmtime_r fill it from `time` and
    // return null on failure, which is checked.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let filled = if utc {
            libc::gmtime_r(&time, &mut tm)
        } else {
            libc::localtime_r(&time, &mut tm)
        };
        (!filled.is_null()).then_some(tm)
    }
}

/// The C library's `strftime` of `format`; a format with a NUL byte is cut there,
/// as C sees it.
fn c_strftime(format: &str, tm: &libc::tm) -> String {
    if format.is_empty() {
        return String::new();
    }
    let format = format.split('\0').next().unwrap_or_default();
    // A trailing space tells an empty result from a buffer that is too small.
    let Ok(c_format) = std::ffi::CString::new(format!("{format} ")) else {
        return String::new();
    };
    let mut size = 256usize;
    loop {
        let mut buffer = vec![0u8; size];
        // SAFETY: the buffer holds `size` bytes, the format is NUL-terminated and
        // `tm` is a valid broken-down time; strftime writes at most `size` bytes.
        let written =
            unsafe { libc::strftime(buffer.as_mut_ptr().cast(), size, c_format.as_ptr(), tm) };
        if written > 0 {
            buffer.truncate(written - 1);
            return String::from_utf8_lossy(&buffer).into_owned();
        }
        if size > 1 << 20 {
            return String::new();
        }
        size *= 8;
    }
}

/// A naive Python `datetime`: a moment in local time or UTC, broken down when used.
#[derive(Clone)]
struct DateTime {
    seconds: libc::time_t,
    utc: bool,
    microsecond: u32,
    tm: Fields,
}

/// The fields of a broken-down time that a `datetime` shows.
#[derive(Clone, Copy)]
struct Fields {
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    minute: i32,
    second: i32,
    weekday: i32,
}

impl DateTime {
    /// Now, in local time or UTC.
    fn now(utc: bool) -> Option<DateTime> {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
        DateTime::at(since.as_secs().try_into().ok()?, since.subsec_micros(), utc)
    }

    /// The moment `seconds` (and `microsecond`) after the epoch.
    fn at(seconds: libc::time_t, microsecond: u32, utc: bool) -> Option<DateTime> {
        let tm = broken_down(seconds, utc)?;
        Some(DateTime {
            seconds,
            utc,
            microsecond,
            tm: Fields {
                year: tm.tm_year + 1900,
                month: tm.tm_mon + 1,
                day: tm.tm_mday,
                hour: tm.tm_hour,
                minute: tm.tm_min,
                second: tm.tm_sec,
                weekday: tm.tm_wday,
            },
        })
    }

    /// `datetime.strftime`: `%f` is the microseconds, `%z`/`%Z` are empty (naive),
    /// the rest is the C library's.
    fn strftime(&self, format: &str) -> String {
        let mut prepared = String::with_capacity(format.len());
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                prepared.push(c);
                continue;
            }
            match chars.next() {
                Some('f') => prepared.push_str(&format!("{:06}", self.microsecond)),
                Some('z' | 'Z') => {}
                Some(other) => {
                    prepared.push('%');
                    prepared.push(other);
                }
                None => prepared.push('%'),
            }
        }
        broken_down(self.seconds, self.utc)
            .map(|tm| c_strftime(&prepared, &tm))
            .unwrap_or_default()
    }

    /// An attribute of Python's `datetime`.
    fn attribute(&self, name: &str) -> Option<i64> {
        let tm = &self.tm;
        Some(match name {
            "year" => tm.year.into(),
            "month" => tm.month.into(),
            "day" => tm.day.into(),
            "hour" => tm.hour.into(),
            "minute" => tm.minute.into(),
            "second" => tm.second.into(),
            "microsecond" => self.microsecond.into(),
            _ => return None,
        })
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `str(datetime)`: `2024-05-01 12:00:00.123456`, the fraction only when non-zero.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.strftime("%Y-%m-%d %H:%M:%S");
        match self.microsecond {
            0 => f.write_str(&whole),
            micros => write!(f, "{whole}.{micros:06}"),
        }
    }
}

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str()
            .and_then(|name| self.attribute(name))
            .map(Value::from)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("strftime", [format]) => Ok(Value::from(self.strftime(&format.to_string()))),
            ("isoformat", []) => Ok(Value::from(self.to_string().replacen(' ', "T", 1))),
            ("weekday", []) => Ok(Value::from((self.tm.weekday + 6) % 7)),
            ("isoweekday", []) => Ok(Value::from(match self.tm.weekday {
                0 => 7,
                day => day,
            })),
            _ => Err(fail(
                "datetime",
                format!("'datetime.datetime' object has no attribute '{method}'"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::test_support::eval;
    use serde_json::json;

    #[test]
    fn strftime_formats_epoch_seconds_as_c_does() {
        assert_eq!(
            eval(
                "'%Y-%m-%d %H:%M:%S %a %j %%' | strftime(0, utc=True)",
                json!({})
            ),
            "1970-01-01 00:00:00 Thu 001 %"
        );
        assert_eq!(
            eval("'%d/%m/%y' | strftime('86400.7', utc=true)", json!({})),
            "02/01/70"
        );
        assert_eq!(
            eval("'%s' | strftime(second=1234567890)", json!({})),
            "1234567890"
        );
    }

    #[test]
    fn now_is_a_naive_datetime() {
        let year = eval("now(utc=true).year", json!({}));
        assert!(year.parse::<i32>().is_ok_and(|y| y >= 2024), "{year}");
        let micros = eval("now(fmt='%f|%z|%Z')", json!({}));
        assert!(
            micros.len() == 8 && micros.ends_with("||"),
            "microseconds, empty offsets: {micros}"
        );
        let shown = eval("now()", json!({}));
        assert_eq!(shown.as_bytes().get(4), Some(&b'-'), "{shown}");
        let moment = DateTime::at(0, 5, true).expect("epoch");
        assert_eq!(moment.to_string(), "1970-01-01 00:00:00.000005");
        assert_eq!(moment.strftime("%H%%f%f"), "00%f000005");
    }
}
