//! A call's limit: a deadline (`timeoutMillis`, `queryTimeoutMillis`), an abort (an
//! `AbortSignal` in JS), or both. Whatever waits on a call (for a connection, for the server)
//! races it against [`Limit::reached`]; what happens then (give up the wait, cancel the
//! statement on the server) is the waiter's business.
use crate::error::Error;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Fired from JS (`signal`'s `abort` event), at most once.
#[derive(Default)]
pub struct Abort {
    fired: AtomicBool,
    notify: Notify,
}

impl Abort {
    /// Fires the abort: every wait on it ends.
    pub fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    async fn fired(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.fired.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// The aborts of calls in flight, by call id, so JS can fire one by id.
#[derive(Default)]
pub struct Aborts(Mutex<HashMap<u32, Arc<Abort>>>);

impl Aborts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Abort>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An abort for call `id`, forgotten when the returned guard drops.
    pub fn register(self: &Arc<Self>, id: u32) -> Registered {
        let abort = Arc::new(Abort::default());
        self.lock().insert(id, abort.clone());
        Registered {
            id,
            abort,
            aborts: self.clone(),
        }
    }

    /// Fires the abort of call `id`, if it is still in flight.
    pub fn fire(&self, id: u32) {
        let abort = self.lock().get(&id).cloned();
        if let Some(abort) = abort {
            abort.fire();
        }
    }
}

/// A registered abort; dropping it forgets the call.
pub struct Registered {
    id: u32,
    abort: Arc<Abort>,
    aborts: Arc<Aborts>,
}

impl Registered {
    /// The abort itself.
    pub fn abort(&self) -> Arc<Abort> {
        self.abort.clone()
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.aborts.lock().remove(&self.id);
    }
}

/// What limits one call.
#[derive(Clone, Default)]
pub struct Limit {
    /// When the call gives up, with the timeout it came from (for messages).
    deadline: Option<(Instant, Duration)>,
    abort: Option<Arc<Abort>>,
}

/// What the limit was reached during: the message says which.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// Waiting for a connection: nothing was sent.
    Waiting,
    /// Running on the server: a cancel request was sent.
    Running,
}

impl Limit {
    /// No limit.
    pub fn none() -> Self {
        Limit::default()
    }

    /// A limit of `timeout` from now (none when `None`) and `abort` (none when `None`).
    pub fn new(timeout: Option<Duration>, abort: Option<Arc<Abort>>) -> Self {
        Limit {
            deadline: timeout.map(|t| (Instant::now() + t, t)),
            abort,
        }
    }

    /// Whether nothing limits the call.
    pub fn is_none(&self) -> bool {
        self.deadline.is_none() && self.abort.is_none()
    }

    /// Resolves when the limit is reached (never, without one), with the error the call gives
    /// at `stage`.
    pub async fn reached(&self, stage: Stage) -> Error {
        let expired = async {
            match self.deadline {
                Some((at, timeout)) => {
                    tokio::time::sleep_until(at.into()).await;
                    timeout
                }
                None => std::future::pending().await,
            }
        };
        let aborted = async {
            match &self.abort {
                Some(abort) => abort.fired().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = aborted => Error::Aborted(match stage {
                Stage::Waiting => "the call was aborted (its AbortSignal fired) while it waited \
                                   for a connection; nothing was sent"
                    .into(),
                Stage::Running => "the call was aborted (its AbortSignal fired) while the server \
                                   ran it; the statement was cancelled on the server, and may or \
                                   may not have taken effect before that"
                    .into(),
            }),
            timeout = expired => Error::QueryTimeout(match stage {
                Stage::Waiting => format!(
                    "the query did not get a connection within its timeout ({} ms, waiting for a \
                     connection included); nothing was sent: raise the timeout or `max`",
                    timeout.as_millis()
                ),
                Stage::Running => format!(
                    "the query took longer than its timeout ({} ms, waiting for a connection \
                     included): it was cancelled on the server, and may or may not have taken \
                     effect before that",
                    timeout.as_millis()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_deadline_is_reached_when_it_passes() {
        let limit = Limit::new(Some(Duration::from_millis(200)), None);
        let started = tokio::time::Instant::now();
        let e = limit.reached(Stage::Running).await;
        // The timer wheel rounds up to the next millisecond.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(200) && waited <= Duration::from_millis(201));
        assert_eq!(e.code(), "QUERY_TIMEOUT");
        assert!(e.to_string().contains("200 ms"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_limit_is_never_reached() {
        let reached = tokio::time::timeout(
            Duration::from_secs(3600),
            Limit::none().reached(Stage::Waiting),
        )
        .await;
        assert!(reached.is_err());
        assert!(Limit::none().is_none());
    }

    #[tokio::test]
    async fn an_abort_fired_by_id_ends_the_wait_and_is_forgotten_after() {
        let aborts = Arc::new(Aborts::default());
        let registered = aborts.register(7);
        let limit = Limit::new(None, Some(registered.abort()));
        let waiting = tokio::spawn(async move { limit.reached(Stage::Waiting).await });
        tokio::task::yield_now().await;
        aborts.fire(7);
        let e = waiting.await.unwrap();
        assert_eq!(e.code(), "ABORT_ERR");
        drop(registered);
        assert!(aborts.lock().is_empty());
        aborts.fire(7); // gone: nothing happens
    }

    #[tokio::test]
    async fn an_abort_fired_before_the_wait_is_seen() {
        let abort = Arc::new(Abort::default());
        abort.fire();
        let e = Limit::new(None, Some(abort)).reached(Stage::Running).await;
        assert!(e.to_string().contains("cancelled on the server"), "{e}");
    }
}
