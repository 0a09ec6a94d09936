//! The exported class: each method converts its arguments, calls one core function, and
//! converts the result back. Checked-out clients cross to JS as handles (`handles`).
use crate::client::{self, Client, Stream};
use crate::config;
use crate::deadline::{Aborts, Registered};
use crate::delivery::Delivery;
use crate::events::{Event, Sink};
use crate::handles::Clients;
use crate::log::{self, Record};
use crate::options::{
    params, JsConstants, JsError, JsEvent, JsHealth, JsLimit, JsLogRecord, JsOutcome, JsStatistics,
    JsValue, PoolOptions,
};
use crate::pool::{self, Pool};
use crate::{health, metrics};
use napi::bindgen_prelude::{spawn, Either, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error, Status};
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;

/// The facade's event callback: weak (it never keeps the process alive) and called without an
/// error argument.
type EventCallback = ThreadsafeFunction<JsEvent, (), JsEvent, Status, false, true>;

/// Delivers events to JS without blocking the tokio worker that emits them.
struct JsSink(EventCallback);

impl Sink for JsSink {
    fn send(&self, event: Event) {
        self.0
            .call(event.into(), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// Starts the engine's runtime (see `engine::runtime`) when Node loads the addon.
#[napi_derive::module_init]
fn init() {
    let runtime = crate::engine::runtime().expect("the tokio runtime can be built");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}

/// The facade's `logger` callback: weak and non-blocking, like the event callback.
type LogCallback = ThreadsafeFunction<JsLogRecord, (), JsLogRecord, Status, false, true>;

/// Delivers log lines to the `logger` option without blocking the thread that logs.
struct JsLogSink(LogCallback);

impl log::Sink for JsLogSink {
    fn write(&self, record: Record) {
        self.0
            .call(record.into(), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// The native half of `DatabaseManager`; the JS facade in `lib/` wraps it.
#[napi]
pub struct NativePool {
    pub(crate) pool: Arc<Pool>,
    /// The checked-out clients JS holds.
    pub(crate) clients: Arc<Clients>,
    /// The ends of the COPYs JS runs (see `copies`).
    pub(crate) copies: Arc<Clients<crate::copy::End>>,
    /// The open streams JS holds (`streams`).
    pub(crate) streams: Arc<Clients<Stream>>,
    sink: Option<Arc<JsSink>>,
    delivery: Option<Arc<Delivery>>,
    /// Aborts of limited calls in flight, by call id.
    pub(crate) aborts: Arc<Aborts>,
}

#[napi]
impl NativePool {
    /// The numbers JS and the engine share (event bits, column kinds), read once when the facade
    /// loads.
    #[napi]
    pub fn constants() -> JsConstants {
        JsConstants::new()
    }

    /// Resolves the configuration, builds the (still unconnected) pool and starts its
    /// maintenance.
    #[napi(constructor)]
    pub fn new(options: Option<PoolOptions>) -> napi::Result<Self> {
        let options = options.unwrap_or_default();
        // The facade turns InvalidArg into INVALID_CONFIG: a bad option, or a certificate file
        // the options name that cannot be used.
        let invalid = |e: crate::error::Error| Error::new(Status::InvalidArg, e.to_string());
        let config =
            config::resolve(&(&options).into(), &config::environment()).map_err(invalid)?;
        let pool = Pool::new(config, options.text_oids.unwrap_or_default()).map_err(invalid)?;
        let pool = Arc::new(pool);
        spawn(pool::maintain(Arc::downgrade(&pool)));
        Ok(NativePool {
            pool,
            clients: Arc::default(),
            copies: Arc::default(),
            streams: Arc::default(),
            sink: None,
            delivery: None,
            aborts: Arc::default(),
        })
    }

    /// Sends every query's outcome to `callback` (see `delivery`).
    #[napi]
    pub fn deliver_to(
        &mut self,
        callback: Function<'_, crate::delivery::Batch, ()>,
    ) -> napi::Result<()> {
        let busy_poll = self.pool.config().busy_poll;
        self.delivery = Some(Arc::new(Delivery::new(callback, busy_poll)?));
        Ok(())
    }

    /// Where query outcomes go; the facade sets it up before any query.
    pub(crate) fn delivery(&self) -> napi::Result<&Arc<Delivery>> {
        self.delivery
            .as_ref()
            .ok_or_else(|| Error::new(Status::GenericFailure, "deliverTo() was not called"))
    }

    /// Sends every event to `callback`.
    #[napi]
    pub fn listen(&mut self, callback: EventCallback) {
        let sink = Arc::new(JsSink(callback));
        self.pool.events().set_sink(sink.clone());
        self.sink = Some(sink);
    }

    /// Which event kinds have listeners (bits of `events::kind`).
    #[napi]
    pub fn set_listening(&self, mask: u32) {
        self.pool.events().set_mask(mask);
    }

    /// Queues a `drained` marker behind every event emitted so far.
    #[napi]
    pub fn drain_events(&self) {
        if let Some(sink) = &self.sink {
            let marker = JsEvent::bare("drained", 0);
            sink.0.call(marker, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Runs a query string with prepared values; its outcome is delivered under `id`.
    #[napi]
    pub fn query(&self, env: Env, id: u32, text: String, values: Vec<JsValue>) -> napi::Result<()> {
        let pool = self.pool.clone();
        let params = params(values);
        let limit = pool.default_limit();
        self.delivery()?.send(&env, id, move |early| async move {
            pool.query(&text, params, &early, limit).await
        });
        Ok(())
    }

    /// `query` with a limit of its own (see `JsLimit`).
    #[napi]
    pub fn query_limited(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsValue>,
        limit: JsLimit,
    ) -> napi::Result<()> {
        let pool = self.pool.clone();
        let params = params(values);
        let registered = limit.abortable.then(|| self.aborts.register(id));
        let limit = pool.limit(
            limit.timeout_millis,
            registered.as_ref().map(Registered::abort),
        );
        self.delivery()?.send(&env, id, move |early| async move {
            let outcome = pool.query(&text, params, &early, limit).await;
            drop(registered);
            outcome
        });
        Ok(())
    }

    /// Fires the abort of call `id` (its `AbortSignal` fired), if it is still in flight.
    #[napi]
    pub fn abort_call(&self, id: u32) {
        self.aborts.fire(id);
    }

    /// Opens `min` connections (at least one) and runs a check query.
    #[napi]
    pub async fn initialize(&self) -> JsOutcome {
        self.pool.initialize().await.into()
    }

    /// Retries connecting until the server accepts or `timeout_millis` pass.
    #[napi]
    pub async fn wait_for_database(&self, timeout_millis: u32) -> JsOutcome {
        let timeout = Duration::from_millis(timeout_millis.into());
        self.pool.wait_for_database(timeout).await.into()
    }

    /// Closes the pool once calls in flight finish, or after `timeout_millis`.
    #[napi]
    pub async fn close(&self, timeout_millis: Option<u32>) {
        let timeout = timeout_millis.map(|ms| Duration::from_millis(ms.into()));
        self.pool.close(timeout).await
    }

    /// Sizes and counters, from one consistent look at the pool.
    #[napi]
    pub fn statistics(&self) -> JsStatistics {
        self.pool.snapshot().into()
    }

    /// Sends log lines to `callback` instead of stderr.
    #[napi]
    pub fn log_to(&self, callback: LogCallback) {
        self.pool.log().set_sink(Arc::new(JsLogSink(callback)));
    }

    /// Checks the database within `timeout_millis`; never fails.
    #[napi]
    pub async fn health(&self, timeout_millis: u32) -> JsHealth {
        let timeout = Duration::from_millis(timeout_millis.into());
        let health = health::check(&self.pool, timeout).await;
        JsHealth::new(health, |text| self.pool.stats().redact(text))
    }

    /// The statistics in the Prometheus text format.
    #[napi]
    pub fn metrics(&self) -> String {
        metrics::scrape(&self.pool)
    }

    /// Counts `n` transactions the facade's `executeTransaction` finished.
    #[napi]
    pub fn count_transactions(&self, n: u32) {
        self.pool.stats().transactions(n.into())
    }

    /// Whether the last attempt to reach the server succeeded.
    #[napi]
    pub fn is_connected(&self) -> bool {
        self.pool.is_connected()
    }

    /// Where the pool connects, without secrets: `user@host:port/database`.
    #[napi]
    pub fn describe(&self) -> String {
        let config = self.pool.config();
        format!(
            "{} sslmode={} profile={}",
            config::describe(config),
            config.tls.mode,
            config.profile
        )
    }
}

/// Clients: checking out, their calls, and giving back.
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
    /// outcome is delivered under `id`. `begin` is a `BEGIN` the client deferred, to go out with
    /// this query.
    #[napi]
    pub fn client_query(
        &self,
        env: Env,
        handle: u32,
        id: u32,
        text: String,
        values: Vec<JsValue>,
        begin: Option<String>,
    ) -> napi::Result<()> {
        let client = self.clients.get(handle);
        let params = params(values);
        let limit = self.pool.default_limit();
        self.delivery()?.send(&env, id, move |early| async move {
            let client = client?;
            match begin {
                Some(begin) if limit.is_none() => {
                    client.query_after_begin(begin, &text, params, &early).await
                }
                // A limited query's cancel must not hit a pipelined BEGIN: BEGIN goes first.
                Some(begin) => {
                    client.query(&begin, Vec::new(), &early, &limit).await?;
                    client.query(&text, params, &early, &limit).await
                }
                None => client.query(&text, params, &early, &limit).await,
            }
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
        let client = self
            .clients
            .remove(handle)
            .ok_or(crate::error::Error::ClientReleased);
        self.delivery()?.send(&env, id, move |_| async move {
            client?.commit_and_release().await
        });
        Ok(())
    }

    /// Releases a client (see `Client::release`); delivers under `id` 1 if a transaction was
    /// open and did not survive (it was rolled back, or the connection closed), else 0. Through
    /// the delivery like a query, rather than as an async napi function, whose promise and
    /// completion cost more than a query's outcome does.
    #[napi]
    pub fn client_release(
        &self,
        env: Env,
        handle: u32,
        id: u32,
        destroy: bool,
    ) -> napi::Result<()> {
        let client = self.clients.remove(handle);
        self.delivery()?.send(&env, id, move |_| async move {
            Ok(match client {
                Some(client) => u32::from(client.release(destroy).await),
                None => 0,
            })
        });
        Ok(())
    }

    /// Releases a client as `client_release` does, with no outcome: for pg-rust-pool/pg, whose
    /// `release()` tells its caller nothing. Nothing crosses back to JS, which through the module
    /// was a promise and an outcome to deliver per transaction.
    #[napi]
    pub fn client_release_quietly(&self, handle: u32, destroy: bool) {
        if let Some(client) = self.clients.remove(handle) {
            spawn(async move {
                client.release(destroy).await;
            });
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
