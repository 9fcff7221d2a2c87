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
pub fn unix_seconds(t: SystemTime) -> i64 {
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

#[cfg(test)]
mod tests {
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
