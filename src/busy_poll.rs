//! Busy polling (`busyPollMicros`): while a lone call is in flight, and for a moment after its
//! outcome leaves, the engine's thread keeps polling its sockets and its task queue instead of
//! sleeping.
//!
//! Without it, a query made while nothing else runs wakes the engine's sleeping thread twice:
//! once when JS hands it the call, and once when the server's answer arrives. Each wake costs
//! both threads a system call and a context switch, and together they were a fifth of a lone
//! query's round trip (W1 of the benchmark). Polling instead costs CPU: the engine's thread stays
//! busy for the window after each lone call, so a stream of queries made one after another keeps
//! one core busy while it lasts. It stops a window after the last one.
//!
//! Only a call that starts with no other call of its pool in flight starts polling (see
//! `delivery`), so a busy pool, whose threads have work anyway, never does. Polling is a task that
//! yields to every other task: between its turns, tokio's worker checks its sockets without
//! waiting (epoll with a zero timeout) and takes the calls JS queued, which then need no wake.
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The one poller of a runtime: every pool of the process shares the engine's thread.
pub struct Poller {
    epoch: Instant,
    /// Until when to poll, in nanoseconds since `epoch`.
    until: AtomicU64,
    /// Whether the polling task runs.
    polling: AtomicBool,
}

impl Default for Poller {
    fn default() -> Self {
        Poller {
            epoch: Instant::now(),
            until: AtomicU64::new(0),
            polling: AtomicBool::new(false),
        }
    }
}

impl Poller {
    /// The poller of the process's engine.
    pub fn engine() -> &'static Arc<Poller> {
        static ENGINE: once_cell::sync::Lazy<Arc<Poller>> =
            once_cell::sync::Lazy::new(Arc::default);
        &ENGINE
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Polls at least `window` from now. Returns the polling task when none runs; the caller
    /// spawns it on the engine.
    pub fn start(self: &Arc<Self>, window: Duration) -> Option<impl Future<Output = ()>> {
        if window.is_zero() {
            return None;
        }
        self.poll_until(window);
        if self.polling.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(self.clone().poll())
    }

    /// Keeps polling, if it runs, at least `window` from now.
    pub fn extend(&self, window: Duration) {
        if self.polling() {
            self.poll_until(window);
        }
    }

    fn poll_until(&self, window: Duration) {
        let until = self.now() + window.as_nanos() as u64;
        self.until.fetch_max(until, Ordering::Relaxed);
    }

    /// Whether the polling task runs.
    pub fn polling(&self) -> bool {
        self.polling.load(Ordering::Acquire)
    }

    async fn poll(self: Arc<Self>) {
        loop {
            tokio::task::yield_now().await;
            if self.now() <= self.until.load(Ordering::Relaxed) {
                continue;
            }
            self.polling.store(false, Ordering::Release);
            // A call that extended the window after the check above saw this task running and
            // did not start another: look once more before leaving.
            if self.now() > self.until.load(Ordering::Relaxed)
                || self.polling.swap(true, Ordering::AcqRel)
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_window_never_polls() {
        let poller = Arc::new(Poller::default());
        assert!(poller.start(Duration::ZERO).is_none());
        assert!(!poller.polling());
    }

    #[test]
    fn one_task_polls_however_many_calls_start() {
        let poller = Arc::new(Poller::default());
        let first = poller.start(Duration::from_millis(50));
        assert!(first.is_some());
        assert!(poller.polling());
        assert!(poller.start(Duration::from_millis(50)).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn polling_stops_a_window_after_the_last_call_and_starts_again() {
        let poller = Arc::new(Poller::default());
        let started = Instant::now();
        // Windows long enough that a loaded machine's late wake-up (a 10 ms sleep that takes
        // 25) still extends the first window before it ends.
        let task = tokio::spawn(poller.start(Duration::from_millis(200)).unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
        poller.extend(Duration::from_millis(300));
        task.await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(310));
        assert!(!poller.polling());
        // The next lone call starts a new task.
        let again = poller.start(Duration::from_millis(1));
        assert!(again.is_some());
        again.unwrap().await;
        assert!(!poller.polling());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn other_tasks_run_while_it_polls() {
        let poller = Arc::new(Poller::default());
        let polling = tokio::spawn(poller.start(Duration::from_millis(200)).unwrap());
        let other = tokio::spawn(async { 7 });
        assert_eq!(other.await.unwrap(), 7);
        assert!(poller.polling());
        polling.await.unwrap();
    }
}
