//! The napi edge of checked-out clients: the `NativePool` methods that hand clients out and run
//! their calls. A client crosses to JS as a number, its handle in the pool's [`Clients`], rather
//! than as a napi class instance, whose constructor call, wrap, type tag and finalizer cost more
//! than the map (a W4 transaction of the benchmark takes 1.6 % fewer instructions without them).
//! Each method converts its arguments, calls one core function in `client`, and converts the
//! result back.
use crate::client::{self, Client};
use crate::deadline::Registered;
use crate::error::{Error, Result};
use crate::manager::NativePool;
use crate::options::{params, JsError, JsLimit, JsValue};
use napi::bindgen_prelude::Either;
use napi::Env;
use napi_derive::napi;
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
    fn insert(&self, client: T) -> u32 {
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
    fn get(&self, handle: u32) -> Result<Arc<T>> {
        self.lock()
            .clients
            .get(&handle)
            .cloned()
            .ok_or(Error::ClientReleased)
    }

    /// Takes the client under `handle` out, if it is still there.
    fn remove(&self, handle: u32) -> Option<Arc<T>> {
        self.lock().clients.remove(&handle)
    }
}

#[napi]
impl NativePool {
    /// Checks out a client (`getClient()`); without `wait`, fails with `POOL_DEADLOCK` when none
    /// is free now. The client's handle, or the error, is delivered under `id`.
    #[napi]
    pub fn checkout(&self, env: Env, id: u32, wait: bool) -> napi::Result<()> {
        let pool = self.pool.clone();
        let clients = self.clients.clone();
        self.delivery()?.send(&env, id, move |_| async move {
            let client = Client::checkout(&pool, wait).await?;
            Ok(clients.insert(client))
        });
        Ok(())
    }

    /// The server process id of a checked-out client's connection (`processID`); 0 once the
    /// client was released or before a transaction's first query checked it out.
    #[napi]
    pub fn client_pid(&self, handle: u32) -> i32 {
        self.clients
            .get(handle)
            .ok()
            .and_then(|client| client.pid())
            .unwrap_or(0)
    }

    /// A transaction's client, at once: its handle, or `POOL_CLOSED`. Its first query checks
    /// out the connection (without `wait`, only one free then) and sends `begin` before it.
    #[napi]
    pub fn transaction(&self, wait: bool, begin: String) -> Either<u32, JsError> {
        match Client::transaction(&self.pool, wait, begin) {
            Ok(client) => Either::A(self.clients.insert(client)),
            Err(e) => Either::B(e.into()),
        }
    }

    /// Runs a query string with prepared values on a client, after its earlier calls; its
    /// outcome is delivered under `id`.
    #[napi]
    pub fn client_query(
        &self,
        env: Env,
        handle: u32,
        id: u32,
        text: String,
        values: Vec<JsValue>,
    ) -> napi::Result<()> {
        let client = self.clients.get(handle);
        let params = params(values);
        let limit = self.pool.default_limit();
        self.delivery()?.send(&env, id, move |early| async move {
            client?.query(&text, params, &early, &limit).await
        });
        Ok(())
    }

    /// `clientQuery` with a limit of its own (see `JsLimit`).
    #[napi]
    pub fn client_query_limited(
        &self,
        env: Env,
        handle: u32,
        id: u32,
        text: String,
        values: Vec<JsValue>,
        limit: JsLimit,
    ) -> napi::Result<()> {
        let client = self.clients.get(handle);
        let params = params(values);
        let registered = limit.abortable.then(|| self.aborts.register(id));
        let limit = self.pool.limit(
            limit.timeout_millis,
            registered.as_ref().map(Registered::abort),
        );
        self.delivery()?.send(&env, id, move |early| async move {
            let outcome = client?.query(&text, params, &early, &limit).await;
            drop(registered);
            outcome
        });
        Ok(())
    }

    /// Commits a client's transaction, refusing to commit an aborted one, and releases the
    /// client; the outcome is delivered under `id`.
    #[napi]
    pub fn client_commit_and_release(&self, env: Env, handle: u32, id: u32) -> napi::Result<()> {
        let client = self.clients.remove(handle).ok_or(Error::ClientReleased);
        self.delivery()?.send(&env, id, move |_| async move {
            client?.commit_and_release().await
        });
        Ok(())
    }

    /// Returns a client's connection (rolled back if needed) or, with `destroy`, closes it.
    /// Resolves to whether a transaction was open and did not survive.
    #[napi]
    pub async fn client_release(&self, handle: u32, destroy: bool) -> bool {
        match self.clients.remove(handle) {
            Some(client) => client.release(destroy).await,
            None => false,
        }
    }

    /// Cancels what a client runs, rolls back, and releases it.
    #[napi]
    pub async fn client_abort(&self, handle: u32) -> bool {
        match self.clients.remove(handle) {
            Some(client) => client.abort().await,
            None => false,
        }
    }

    /// Lets go of a client that JS garbage-collected without releasing it.
    #[napi]
    pub fn drop_client(&self, handle: u32) {
        self.clients.remove(handle);
    }

    /// Runs a query for code that already holds a client of this pool; its outcome is delivered
    /// under `id`.
    #[napi]
    pub fn query_holding(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsValue>,
    ) -> napi::Result<()> {
        let pool = self.pool.clone();
        let params = params(values);
        self.delivery()?.send(&env, id, move |early| async move {
            client::query_holding(&pool, &text, params, &early).await
        });
        Ok(())
    }

    /// `leakDetectionThreshold` in ms, 0 when off.
    #[napi]
    pub fn leak_detection_threshold(&self) -> u32 {
        self.pool
            .config()
            .leak_detection_threshold
            .map_or(0, |d| d.as_millis() as u32)
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
