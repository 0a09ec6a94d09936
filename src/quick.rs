//! Which statements the server answers quickly: those a manager query may pipeline behind on a
//! connection already in use even while others are idle (see `share`).
//!
//! Each idle connection a query takes is a backend the server wakes for that query alone. When
//! quick queries come in bursts (an HTTP service's requests, `Promise.all` of point queries), the
//! server does less work per query if they queue on one connection: its backend reads and answers
//! several per wake-up. Measured on 2 cores with the server on the same machine (bench W2, W5 and
//! W8, alternating runs): the server's CPU per insert fell by about a fifth and the client's by a
//! tenth. But a query queued behind a slow one waits for it, so only statements known to be quick
//! queue up that way; the first run of a statement, and any statement seen slow, takes an idle
//! connection as before.
//!
//! A statement is known by its text. Its time is the server's part of its run (from when its
//! answer could come, after the answer before it on the same connection, to its answer). What
//! counts is a ceiling that follows each slower run at once and each faster one by a quarter of
//! the difference: one slow run (a statement whose time depends on its values, a lock) makes
//! it not quick at once, so the queries after it are not held up behind the next slow run; it
//! is quick again after a run of fast ones (about 17 after a run of 300 ms).
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Statements whose ceiling is under this are quick: a query queued behind seven of them waits
/// about 14 ms at worst, unless one of them is slow for the first time.
pub const QUICK: Duration = Duration::from_millis(2);

/// Statements remembered at most; past that the memory starts again (a pool that sends ever new
/// texts, literals inlined, gains nothing from it anyway).
const REMEMBERED: usize = 4096;

/// The ceiling of each statement's time, in microseconds.
#[derive(Default)]
pub struct Quick {
    ceilings: Mutex<HashMap<Box<str>, u32>>,
}

impl Quick {
    /// Whether `sql` has run and its ceiling is under [`QUICK`].
    pub fn is_quick(&self, sql: &str) -> bool {
        self.ceilings()
            .get(sql)
            .is_some_and(|&ceiling| u128::from(ceiling) < QUICK.as_micros())
    }

    /// Records a run of `sql` that took the server `took`.
    pub fn observe(&self, sql: &str, took: Duration) {
        let took = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let mut ceilings = self.ceilings();
        if let Some(ceiling) = ceilings.get_mut(sql) {
            *ceiling = if took >= *ceiling {
                took
            } else {
                *ceiling - (*ceiling - took) / 4
            };
            return;
        }
        if ceilings.len() >= REMEMBERED {
            ceilings.clear();
        }
        ceilings.insert(sql.into(), took);
    }

    fn ceilings(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, u32>> {
        // A map of numbers stays consistent whatever panicked while it was held.
        self.ceilings.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_statement_never_seen_is_not_quick() {
        assert!(!Quick::default().is_quick("SELECT 1"));
    }

    #[test]
    fn a_fast_run_makes_a_statement_quick_and_a_slow_one_does_not() {
        let quick = Quick::default();
        quick.observe("SELECT 1", Duration::from_micros(80));
        quick.observe("SELECT pg_sleep(0.1)", 100 * MS);
        assert!(quick.is_quick("SELECT 1"));
        assert!(!quick.is_quick("SELECT pg_sleep(0.1)"));
    }

    #[test]
    fn one_slow_run_makes_a_statement_not_quick_until_a_run_of_fast_ones() {
        let quick = Quick::default();
        quick.observe("q", Duration::from_micros(100));
        assert!(quick.is_quick("q"));
        quick.observe("q", 300 * MS);
        assert!(!quick.is_quick("q"));
        let mut fast_runs = 0;
        while !quick.is_quick("q") {
            quick.observe("q", Duration::from_micros(100));
            fast_runs += 1;
        }
        assert!((15..=20).contains(&fast_runs), "{fast_runs}");
    }

    #[test]
    fn the_memory_is_bounded() {
        let quick = Quick::default();
        for i in 0..=REMEMBERED {
            quick.observe(&format!("SELECT {i}"), Duration::from_micros(50));
        }
        assert!(quick.ceilings().len() <= REMEMBERED);
        assert!(quick.is_quick(&format!("SELECT {REMEMBERED}")));
    }
}
