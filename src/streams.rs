//! Streams at the napi edge: the manager's `stream` and a client's, their fetches and their
//! early stops (see `client::Stream`). A stream crosses to JS as a handle, as a client does
//! (`handles`); its outcomes go through the delivery, as a query's do: a fetch's batch is a
//! query result whose `command` is set on the last one.
use crate::client::Stream;
use crate::deadline::Registered;
use crate::error::Error;
use crate::manager::NativePool;
use crate::options::{params, JsLimit, JsValue};
use napi::bindgen_prelude::spawn;
use napi::Env;
use napi_derive::napi;

/// Streams.
#[napi]
impl NativePool {
    /// Opens a stream of a query's rows on a connection of its own (`manager.stream`); without
    /// `wait`, only one free now. Its handle is delivered under `id` once the cursor is declared.
    #[napi]
    pub fn stream(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsValue>,
        wait: bool,
        limit: Option<JsLimit>,
    ) -> napi::Result<()> {
        let (pool, streams) = (self.pool.clone(), self.streams.clone());
        let params = params(values);
        let (limit, registered) = self.stream_limit(id, limit);
        self.delivery()?.send(&env, id, move |_| async move {
            let stream = Stream::checkout(&pool, wait, text, params, limit).await;
            drop(registered);
            Ok(streams.insert(stream?))
        });
        Ok(())
    }

    /// Opens a stream of a query's rows on a checked-out client (`client.stream`), after the
    /// client's earlier calls, behind `begin` when the client deferred one; its handle is
    /// delivered under `id`.
    #[napi]
    #[allow(clippy::too_many_arguments)] // the call's id, the client, the query, its BEGIN, its limit
    pub fn client_stream(
        &self,
        env: Env,
        handle: u32,
        id: u32,
        text: String,
        values: Vec<JsValue>,
        begin: Option<String>,
        limit: Option<JsLimit>,
    ) -> napi::Result<()> {
        let (client, streams) = (self.clients.get(handle), self.streams.clone());
        let params = params(values);
        let (limit, registered) = self.stream_limit(id, limit);
        self.delivery()?.send(&env, id, move |_| async move {
            let stream = Stream::open(client?, false, begin, text, params, limit).await;
            drop(registered);
            Ok(streams.insert(stream?))
        });
        Ok(())
    }

    /// Fetches a stream's next `rows` rows; delivered under `id` as one query result. A stream
    /// that ended with it (its last rows, or an error) is let go of.
    #[napi]
    pub fn stream_fetch(
        &self,
        env: Env,
        stream: u32,
        id: u32,
        rows: u32,
        limit: Option<JsLimit>,
    ) -> napi::Result<()> {
        let (handle, streams) = (stream, self.streams.clone());
        let stream = self.streams.get(handle).map_err(|_| ended());
        let (limit, registered) = self.stream_limit(id, limit);
        self.delivery()?.send(&env, id, move |_| async move {
            let stream = stream?;
            let outcome = stream.fetch(rows, &limit).await;
            drop(registered);
            if stream.ended() {
                streams.remove(handle);
            }
            outcome
        });
        Ok(())
    }

    /// Stops a stream before its end (`failed`: after an abort or an error, rolled back) and
    /// lets go of it; delivered under `id` once its connection is clean (or closed).
    #[napi]
    pub fn stream_close(&self, env: Env, stream: u32, id: u32, failed: bool) -> napi::Result<()> {
        let stream = self.streams.remove(stream);
        self.delivery()?.send(&env, id, move |_| async move {
            match stream {
                Some(stream) => stream.close(failed).await,
                None => Ok(()),
            }
        });
        Ok(())
    }

    /// Lets go of a stream that JS garbage-collected before it ended: it ends as an early stop
    /// ends it, so that no block of its stays open on its client.
    #[napi]
    pub fn drop_stream(&self, stream: u32) {
        if let Some(stream) = self.streams.remove(stream) {
            spawn(async move {
                if let Err(e) = stream.close(false).await {
                    tracing::warn!("could not end a stream JS let go of: {e}");
                }
            });
        }
    }
}

impl NativePool {
    /// A stream call's limit: `limit`'s, its abort registered under `id`; without one, the
    /// manager's `queryTimeoutMillis`.
    fn stream_limit(
        &self,
        id: u32,
        limit: Option<JsLimit>,
    ) -> (crate::deadline::Limit, Option<Registered>) {
        let Some(limit) = limit else {
            return (self.pool.default_limit(), None);
        };
        let registered = limit.abortable.then(|| self.aborts.register(id));
        let abort = registered.as_ref().map(Registered::abort);
        (self.pool.limit(limit.timeout_millis, abort), registered)
    }
}

/// The error of a call on a stream that has ended (or was never opened).
fn ended() -> Error {
    Error::argument("the stream has ended: read its rows again with a new stream()")
}
