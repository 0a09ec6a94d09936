//! The clients of one pool that JS holds, by handle. A client crosses to JS as a number, its
//! handle here, rather than as a napi class instance, whose constructor call, wrap, type tag and
//! finalizer cost more than the map (a W4 transaction of the benchmark takes 1.6 % fewer
//! instructions without them).
use crate::client::Client;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The clients of one pool that JS holds, by handle. A client leaves when JS releases it, or
/// when the JS client is garbage-collected unreleased (`dropClient`); dropped, it returns its
/// connection, or closes it if a transaction was open (see `client`).
pub struct Clients<T = Client> {
    inner: Mutex<Handles<T>>,
}

struct Handles<T> {
    next: u32,
    clients: HashMap<u32, Arc<T>>,
}

impl<T> Default for Clients<T> {
    fn default() -> Self {
        Clients {
            inner: Mutex::new(Handles {
                next: 0,
                clients: HashMap::new(),
            }),
        }
    }
}

impl<T> Clients<T> {
    fn lock(&self) -> MutexGuard<'_, Handles<T>> {
        // The map stays consistent whatever panicked while it was held.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `client` under a handle no other client of the pool has.
    pub fn insert(&self, client: T) -> u32 {
        let mut handles = self.lock();
        let Handles { next, clients } = &mut *handles;
        // A handle comes round again after 2^32 checkouts, and is skipped while still held.
        while clients.contains_key(next) {
            *next = next.wrapping_add(1);
        }
        let handle = *next;
        *next = next.wrapping_add(1);
        clients.insert(handle, Arc::new(client));
        handle
    }

    /// The client under `handle`; `CLIENT_RELEASED` once it has left.
    pub fn get(&self, handle: u32) -> Result<Arc<T>> {
        self.lock()
            .clients
            .get(&handle)
            .cloned()
            .ok_or(Error::ClientReleased)
    }

    /// Takes the client under `handle` out, if it is still there.
    pub fn remove(&self, handle: u32) -> Option<Arc<T>> {
        self.lock().clients.remove(&handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_there_under_its_handle_until_it_leaves() {
        let clients = Clients::default();
        let a = clients.insert("a");
        let b = clients.insert("b");
        assert_ne!(a, b);
        assert_eq!(*clients.get(a).unwrap(), "a");
        assert_eq!(clients.remove(a).as_deref(), Some(&"a"));
        assert!(matches!(clients.get(a), Err(Error::ClientReleased)));
        assert!(clients.remove(a).is_none());
        assert_eq!(*clients.get(b).unwrap(), "b");
    }

    #[test]
    fn handles_come_round_again_but_skip_clients_still_held() {
        let clients = Clients::default();
        let held = clients.insert("held");
        clients.lock().next = u32::MAX;
        assert_eq!(clients.insert("last"), u32::MAX);
        // Wrapped round to the held client's handle, which is skipped.
        let next = clients.insert("next");
        assert_eq!(next, held + 1);
        assert_eq!(*clients.get(held).unwrap(), "held");
    }
}
