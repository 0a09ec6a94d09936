//! Pool events on their way to JS listeners. The core emits through [`Events`], which costs one
//! atomic load when nobody listens: the facade tells it which event kinds have listeners, and an
//! event's data is only built when its kind is wanted.
use crate::error::Error;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

/// Why a connection left the pool (`remove` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Idle longer than `idleTimeoutMillis` while more than `min` were idle.
    Idle,
    /// Older than `maxLifetimeSeconds`.
    Lifetime,
    /// Served `maxUses` queries.
    MaxUses,
    /// Found closed or failing.
    Broken,
    /// The pool closed.
    Closed,
    /// The user destroyed it (`client.release(true)`).
    Destroyed,
    /// Its server changed role (a promotion, `default_transaction_read_only`) while
    /// `targetSessionAttrs` asks for a kind of server.
    Role,
}

impl Reason {
    /// The reason as JS sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Idle => "idle",
            Reason::Lifetime => "lifetime",
            Reason::MaxUses => "maxUses",
            Reason::Broken => "broken",
            Reason::Closed => "closed",
            Reason::Destroyed => "destroyed",
            Reason::Role => "role",
        }
    }
}

/// One event; `pid` is the server process id of the connection concerned.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new physical connection.
    Connect {
        /// Server process id.
        pid: i32,
    },
    /// A connection was handed out.
    Acquire {
        /// Server process id.
        pid: i32,
    },
    /// A connection came back.
    Release {
        /// Server process id.
        pid: i32,
    },
    /// A connection left the pool.
    Remove {
        /// Server process id.
        pid: i32,
        /// Why.
        reason: Reason,
    },
    /// An idle connection failed.
    Error {
        /// Server process id.
        pid: i32,
        /// What happened.
        error: Error,
    },
    /// The circuit breaker opened after this connection failure.
    CircuitOpen {
        /// The last failure.
        error: Error,
    },
    /// A connection attempt succeeded, and the circuit breaker closed again.
    CircuitClose,
    /// The server sent a notice or warning (`RAISE NOTICE`, "already exists, skipping") on a
    /// connection.
    Notice {
        /// Server process id.
        pid: i32,
        /// The notice, as a server error (`Error::Server`) with its severity.
        notice: Error,
    },
    /// The LISTEN connection opened, or opened again after it was lost, and every channel
    /// listened is in force on it.
    Listen {
        /// Server process id of the LISTEN connection.
        pid: i32,
        /// The channels listened.
        channels: Vec<String>,
        /// Whether it replaces a connection lost while channels were listened: notifications
        /// sent in between were missed.
        reconnected: bool,
    },
    /// The LISTEN connection failed; it is opened again while channels are listened. Delivered
    /// as an `error`.
    ListenLost {
        /// Server process id of the lost connection.
        pid: i32,
        /// What happened.
        error: Error,
    },
}

/// Bit of each event kind in the listener mask; the facade takes them from [`kind::NAMES`].
pub mod kind {
    /// `connect`
    pub const CONNECT: u32 = 1;
    /// `acquire`
    pub const ACQUIRE: u32 = 2;
    /// `release`
    pub const RELEASE: u32 = 4;
    /// `remove`
    pub const REMOVE: u32 = 8;
    /// `error`: always delivered, so the facade can log an error nobody listens to.
    pub const ERROR: u32 = 16;
    /// `circuitOpen`
    pub const CIRCUIT_OPEN: u32 = 32;
    /// `circuitClose`
    pub const CIRCUIT_CLOSE: u32 = 64;
    /// `notice`
    pub const NOTICE: u32 = 128;
    /// `listen`
    pub const LISTEN: u32 = 256;

    /// Each kind's JS event name and bit: the facade takes this table (`constants()`), so the
    /// two sides cannot disagree.
    pub const NAMES: [(&str, u32); 9] = [
        ("connect", CONNECT),
        ("acquire", ACQUIRE),
        ("release", RELEASE),
        ("remove", REMOVE),
        ("error", ERROR),
        ("circuitOpen", CIRCUIT_OPEN),
        ("circuitClose", CIRCUIT_CLOSE),
        ("notice", NOTICE),
        ("listen", LISTEN),
    ];
}

/// Where events go (the napi edge implements it with a threadsafe function).
pub trait Sink: Send + Sync {
    /// Delivers one event; must not block.
    fn send(&self, event: Event);
}

/// The pool's event outlet.
pub struct Events {
    mask: AtomicU32,
    sink: RwLock<Option<Arc<dyn Sink>>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            mask: AtomicU32::new(kind::ERROR),
            sink: RwLock::new(None),
        }
    }
}

impl Events {
    /// Connects the outlet to `sink`.
    pub fn set_sink(&self, sink: Arc<dyn Sink>) {
        *self.sink.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }

    /// Sets which kinds have listeners (`kind` bits); errors are always delivered.
    pub fn set_mask(&self, mask: u32) {
        self.mask.store(mask | kind::ERROR, Ordering::Relaxed);
    }

    /// Emits the event built by `event` if kind `bit` has listeners.
    #[inline]
    pub fn emit(&self, bit: u32, event: impl FnOnce() -> Event) {
        if self.mask.load(Ordering::Relaxed) & bit != 0 {
            if let Some(sink) = self.sink.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
                sink.send(event());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>);
    impl Sink for Recorder {
        fn send(&self, event: Event) {
            self.0.lock().unwrap().push(format!("{event:?}"));
        }
    }

    #[test]
    fn only_wanted_kinds_are_built_and_sent() {
        let events = Events::default();
        let recorder = Arc::new(Recorder(Mutex::new(vec![])));
        events.set_sink(recorder.clone());
        events.emit(kind::CONNECT, || {
            panic!("nobody listens to connect: the event is not built")
        });
        events.set_mask(kind::CONNECT);
        events.emit(kind::CONNECT, || Event::Connect { pid: 7 });
        events.emit(kind::ERROR, || Event::Error {
            pid: 7,
            error: Error::PoolClosed,
        });
        assert_eq!(recorder.0.lock().unwrap().len(), 2);
    }
}
