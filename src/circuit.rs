//! The circuit breaker in front of new connections. After `failureThreshold` connection
//! attempts in a row have failed, it opens: calls that need a new connection fail at once with
//! `DATABASE_UNAVAILABLE` instead of each waiting for its own failed attempt, while idle
//! connections that still work keep serving. After `resetTimeoutMillis` one attempt is let
//! through (half-open); its success closes the circuit, its failure opens it again.
use crate::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The circuit's settings (`circuitBreaker`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Failed connection attempts in a row that open it.
    pub failure_threshold: u32,
    /// How long it stays open before one attempt is let through.
    pub reset_timeout: Duration,
}

/// Where the circuit stands, as JS sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connection attempts go through.
    Closed,
    /// Calls that need a new connection fail at once.
    Open,
    /// One attempt is under way; its outcome decides.
    HalfOpen,
}

impl State {
    /// The state's name in statistics and health.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }
}

enum Inner {
    Closed { failures: u32 },
    Open { until: Instant, last: Error },
    HalfOpen { last: Error },
}

/// What an attempt's outcome changed, for the caller to announce.
#[derive(Debug, PartialEq)]
pub enum Change {
    /// Nothing to announce.
    None,
    /// It opened (`circuitOpen`), after this error.
    Opened(Error),
    /// It closed again (`circuitClose`).
    Closed,
}

/// The breaker of one pool; `None` settings turn it off.
pub struct Circuit {
    settings: Option<Settings>,
    inner: Mutex<Inner>,
    /// Times it opened (a metric).
    openings: AtomicU64,
}

impl Circuit {
    /// A closed circuit; `settings` `None` never opens.
    pub fn new(settings: Option<Settings>) -> Self {
        Circuit {
            settings,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
            openings: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Before a connection attempt: `Err(DATABASE_UNAVAILABLE)` while open, or while another
    /// attempt probes a half-open circuit; past the reset timeout, this attempt is the probe.
    pub fn admit(&self) -> Result<(), Error> {
        if self.settings.is_none() {
            return Ok(());
        }
        let mut inner = self.lock();
        match &*inner {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until, last } if Instant::now() < *until => Err(unavailable(
                last,
                until.saturating_duration_since(Instant::now()),
            )),
            Inner::Open { last, .. } => {
                *inner = Inner::HalfOpen { last: last.clone() };
                Ok(())
            }
            Inner::HalfOpen { last } => Err(unavailable(last, Duration::ZERO)),
        }
    }

    /// Lets the next attempt through as a probe even if the reset timeout has not passed:
    /// `waitForDatabase`, whose attempts are probes by design.
    pub fn probe_now(&self) {
        let mut inner = self.lock();
        if let Inner::Open { until, .. } = &mut *inner {
            *until = Instant::now();
        }
    }

    /// After an attempt that connected.
    pub fn succeeded(&self) -> Change {
        if self.settings.is_none() {
            return Change::None;
        }
        let mut inner = self.lock();
        let was_closed = matches!(*inner, Inner::Closed { .. });
        *inner = Inner::Closed { failures: 0 };
        if was_closed {
            Change::None
        } else {
            Change::Closed
        }
    }

    /// After an attempt that failed with `error`. A `background` attempt (the pool keeping
    /// `min` connections) counts only as a probe: no caller waited for it, and it retries on its
    /// own schedule, so it must not open the circuit for the callers.
    ///
    /// A server that answered but is not what `targetSessionAttrs` asks for does not count: the
    /// database is up, and during a failover the standby that is about to be promoted answers so
    /// until it is; an open circuit would keep the pool from it for `resetTimeoutMillis` after.
    pub fn failed(&self, error: &Error, background: bool) -> Change {
        let Some(settings) = self.settings else {
            return Change::None;
        };
        if error.code() == "NO_SUITABLE_SERVER" {
            return Change::None;
        }
        let mut inner = self.lock();
        let open = match &mut *inner {
            Inner::Closed { .. } if background => false,
            Inner::Closed { failures } => {
                *failures += 1;
                *failures >= settings.failure_threshold
            }
            Inner::HalfOpen { .. } => true,
            // Attempts admitted before it opened finish after.
            Inner::Open { .. } => false,
        };
        if !open {
            return Change::None;
        }
        let reopened = matches!(*inner, Inner::HalfOpen { .. });
        *inner = Inner::Open {
            until: Instant::now() + settings.reset_timeout,
            last: error.clone(),
        };
        if reopened {
            return Change::None;
        }
        self.openings.fetch_add(1, Ordering::Relaxed);
        Change::Opened(error.clone())
    }

    /// Where it stands.
    pub fn state(&self) -> State {
        match &*self.lock() {
            Inner::Closed { .. } => State::Closed,
            Inner::Open { until, .. } if Instant::now() < *until => State::Open,
            // Past its reset timeout it lets the next attempt through.
            Inner::Open { .. } | Inner::HalfOpen { .. } => State::HalfOpen,
        }
    }

    /// How many times it opened.
    pub fn openings(&self) -> u64 {
        self.openings.load(Ordering::Relaxed)
    }
}

fn unavailable(last: &Error, next_probe: Duration) -> Error {
    let next = if next_probe.is_zero() {
        "a probe is under way".to_owned()
    } else {
        format!("the next attempt is in {} ms", next_probe.as_millis())
    };
    Error::DatabaseUnavailable(format!(
        "the database is unavailable: the last connection attempts failed ({}: {}), so calls \
         that need a new connection fail at once; {next} (circuitBreaker.resetTimeoutMillis)",
        last.code(),
        last
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> Error {
        Error::Connect {
            code: "ECONNREFUSED",
            message: "refused".into(),
        }
    }

    fn circuit(reset: Duration) -> Circuit {
        Circuit::new(Some(Settings {
            failure_threshold: 3,
            reset_timeout: reset,
        }))
    }

    #[test]
    fn it_opens_after_the_threshold_and_fails_fast_with_the_last_error() {
        let c = circuit(Duration::from_secs(60));
        assert_eq!(c.failed(&refused(), false), Change::None);
        assert_eq!(c.failed(&refused(), false), Change::None);
        assert!(c.admit().is_ok());
        assert_eq!(c.failed(&refused(), false), Change::Opened(refused()));
        assert_eq!(c.state(), State::Open);
        let e = c.admit().unwrap_err();
        assert_eq!(e.code(), "DATABASE_UNAVAILABLE");
        assert!(e.to_string().contains("ECONNREFUSED: refused"), "{e}");
        assert!(e.to_string().contains("the next attempt is in"), "{e}");
        assert_eq!(c.openings(), 1);
    }

    #[test]
    fn a_success_in_between_starts_the_count_again() {
        let c = circuit(Duration::from_secs(60));
        c.failed(&refused(), false);
        c.failed(&refused(), false);
        assert_eq!(c.succeeded(), Change::None);
        c.failed(&refused(), false);
        c.failed(&refused(), false);
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn half_open_lets_one_probe_through_which_decides() {
        let c = circuit(Duration::ZERO);
        for _ in 0..3 {
            c.failed(&refused(), false);
        }
        assert_eq!(c.state(), State::HalfOpen);
        assert!(c.admit().is_ok(), "the probe");
        assert_eq!(c.admit().unwrap_err().code(), "DATABASE_UNAVAILABLE");
        // A failed probe opens it again, without a second circuitOpen.
        assert_eq!(c.failed(&refused(), false), Change::None);
        assert!(c.admit().is_ok(), "the next probe");
        assert_eq!(c.succeeded(), Change::Closed);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.openings(), 1);
    }

    #[test]
    fn probe_now_lets_the_next_attempt_through() {
        let c = circuit(Duration::from_secs(60));
        for _ in 0..3 {
            c.failed(&refused(), false);
        }
        assert!(c.admit().is_err());
        c.probe_now();
        assert!(c.admit().is_ok());
        assert_eq!(c.succeeded(), Change::Closed);
    }

    #[test]
    fn background_attempts_do_not_open_it_but_a_failed_background_probe_reopens_it() {
        let c = circuit(Duration::ZERO);
        for _ in 0..10 {
            assert_eq!(c.failed(&refused(), true), Change::None);
        }
        assert_eq!(c.state(), State::Closed);
        for _ in 0..3 {
            c.failed(&refused(), false);
        }
        assert!(c.admit().is_ok(), "a background attempt may probe");
        assert_eq!(c.failed(&refused(), true), Change::None);
        assert_eq!(
            c.state(),
            State::HalfOpen,
            "open again, past its zero reset timeout"
        );
    }

    #[test]
    fn off_never_opens() {
        let c = Circuit::new(None);
        for _ in 0..100 {
            assert_eq!(c.failed(&refused(), false), Change::None);
        }
        assert!(c.admit().is_ok());
        assert_eq!(c.state(), State::Closed);
    }
}
