//! COPY at the napi edge: `copyFrom`/`copyTo` on the manager and on clients start a COPY, whose
//! outcome is delivered like a query's, and hand JS the handle of its end (`copy::End`), which
//! JS writes to or reads from, call by call, until it finishes or aborts it.
use crate::copy::{self, Direction, End, On};
use crate::delivery::Outcome;
use crate::error::Result;
use crate::manager::NativePool;
use bytes::Bytes;
use napi::bindgen_prelude::Buffer;
use napi::Env;
use napi_derive::napi;

/// COPY.
#[napi]
impl NativePool {
    /// Starts `sql`, a `COPY … FROM STDIN` or (with `out`) `COPY … TO STDOUT`, on a connection
    /// of its own (without `wait`, only one free now), and returns the handle of JS's end of it;
    /// its outcome (the rows loaded, or nothing for `out`) is delivered under `id`.
    #[napi]
    pub fn copy(&self, env: Env, id: u32, sql: String, out: bool, wait: bool) -> napi::Result<u32> {
        let on = On::Pool {
            pool: self.pool.clone(),
            wait,
        };
        self.start_copy(&env, id, sql, out, Ok(on))
    }

    /// `copy` on a client, after its earlier calls; `begin` is a `BEGIN` the client deferred.
    #[napi]
    pub fn client_copy(
        &self,
        env: Env,
        handle: u32,
        id: u32,
        sql: String,
        out: bool,
        begin: Option<String>,
    ) -> napi::Result<u32> {
        let on = self
            .clients
            .get(handle)
            .map(|client| On::Client { client, begin });
        self.start_copy(&env, id, sql, out, on)
    }

    /// Hands `data` to the COPY under `handle`; delivered under `id` once the engine has room for
    /// it (at once, when that COPY has ended: its own outcome says how).
    #[napi]
    pub fn copy_write(&self, env: Env, handle: u32, id: u32, data: Buffer) -> napi::Result<()> {
        let end = self.copies.get(handle).ok();
        let chunk = Bytes::copy_from_slice(&data);
        self.delivery()?.send(&env, id, move |_| async move {
            if let Some(End::In(feed)) = end.as_deref() {
                feed.write(chunk).await;
            }
            Ok(())
        });
        Ok(())
    }

    /// Delivers under `id` the next batch of the COPY under `handle` (an ArrayBuffer), or
    /// undefined once it has sent all it had.
    #[napi]
    pub fn copy_read(&self, env: Env, handle: u32, id: u32) -> napi::Result<()> {
        let end = self.copies.get(handle).ok();
        self.delivery()?.send(&env, id, move |_| async move {
            Ok(match end.as_deref() {
                Some(End::Out(drain)) => {
                    drain.read().await.map_or(Outcome::Nothing, Outcome::Bytes)
                }
                _ => Outcome::Nothing,
            })
        });
        Ok(())
    }

    /// JS is done with the COPY under `handle`: a `COPY … FROM STDIN` completes once its data
    /// has gone.
    #[napi]
    pub fn copy_finish(&self, handle: u32) {
        if let Some(end) = self.copies.remove(handle) {
            if let End::In(feed) = &*end {
                feed.finish();
            }
        }
    }

    /// Stops the COPY under `handle`: it fails on the server, and nothing it did stays.
    #[napi]
    pub fn copy_abort(&self, handle: u32) {
        if let Some(end) = self.copies.remove(handle) {
            end.abort();
        }
    }
}

impl NativePool {
    fn start_copy(
        &self,
        env: &Env,
        id: u32,
        sql: String,
        out: bool,
        on: Result<On>,
    ) -> napi::Result<u32> {
        let direction = if out { Direction::Out } else { Direction::In };
        let (end, run) = copy::start(direction, on, sql);
        let handle = self.copies.insert(end);
        self.delivery()?.send(env, id, move |_| run);
        Ok(handle)
    }
}
