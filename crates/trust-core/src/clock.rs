//! Injected time.
//!
//! Webhook tolerances, key-rotation schedules, token expiry, GDPR deadlines and retention all
//! compare against "now". Taking it from a [`Clock`] instead of calling `SystemTime::now()`
//! inline makes each of those boundaries testable to the second ([`FixedClock`]).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time as whole seconds since the Unix epoch (negative before 1970).
    fn now_unix(&self) -> i64 {
        unix_seconds(self.now())
    }
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until moved; for tests and for replaying historical data.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<SystemTime>,
}

impl FixedClock {
    /// A clock showing `unix_seconds` seconds after the epoch.
    pub fn at_unix(unix_seconds: i64) -> Self {
        Self {
            now: Mutex::new(from_unix_seconds(unix_seconds)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }

    /// Sets the clock to `unix_seconds` seconds after the epoch.
    pub fn set_unix(&self, unix_seconds: i64) {
        if let Ok(mut now) = self.now.lock() {
            *now = from_unix_seconds(unix_seconds);
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.now.lock().map(|t| *t).unwrap_or(UNIX_EPOCH)
    }
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// Whole seconds since the Unix epoch, rounding toward negative infinity.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                secs.saturating_neg().saturating_sub(1)
            } else {
                secs.saturating_neg()
            }
        }
    }
}

/// The time `secs` seconds after (or, if negative, before) the Unix epoch.
pub fn from_unix_seconds(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// The one time format of everything `trust` prints: RFC 3339 in UTC, whole seconds
/// (`2026-01-31T09:00:00Z`), for Unix seconds. Times beyond jiff's range (about year ±9999)
/// print as its bound.
pub fn rfc3339(unix_seconds: i64) -> String {
    let t = jiff::Timestamp::from_second(unix_seconds).unwrap_or(if unix_seconds < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    // Whole seconds: MIN/MAX carry sub-second digits that no input here has.
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// [`rfc3339`] for Unix milliseconds, with the milliseconds (`2026-01-31T09:00:00.250Z`) when
/// there are any.
pub fn rfc3339_ms(unix_millis: i64) -> String {
    let millis = unix_millis.rem_euclid(1000);
    let secs = rfc3339(unix_millis.div_euclid(1000));
    if millis == 0 {
        secs
    } else {
        format!("{}.{millis:03}Z", secs.trim_end_matches('Z'))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_in_utc() {
        use super::{rfc3339, rfc3339_ms};
        // Values checked with GNU date: `date -u -d @1700000000 +%FT%TZ`.
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        // Out of range: jiff's bounds, still RFC 3339-shaped.
        assert_eq!(rfc3339(i64::MAX), "9999-12-30T22:00:00Z");
        assert!(
            rfc3339(i64::MIN).starts_with("-9999-01-0"),
            "{}",
            rfc3339(i64::MIN)
        );
        assert_eq!(rfc3339_ms(1_700_000_000_250), "2023-11-14T22:13:20.250Z");
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at_unix(1_700_000_000);
        assert_eq!(clock.now_unix(), 1_700_000_000);
        clock.advance(Duration::from_secs(301));
        assert_eq!(clock.now_unix(), 1_700_000_301);
        clock.set_unix(5);
        assert_eq!(clock.now_unix(), 5);
    }

    #[test]
    fn before_the_epoch_rounds_down() {
        let t = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(unix_seconds(t), -2);
    }

    proptest! {
        #[test]
        fn unix_seconds_round_trip(secs in -4_000_000_000i64..4_000_000_000i64) {
            prop_assert_eq!(unix_seconds(from_unix_seconds(secs)), secs);
        }
    }
}
