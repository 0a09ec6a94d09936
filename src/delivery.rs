//! How the outcomes of calls (queries, checkouts, commits) reach JS: each call carries an id from
//! the facade, its outcome is encoded on the engine's thread (`wire`), queued, and the queue is
//! handed to one JS callback per wake of the JS thread, as one flat array: per outcome
//! `id, meta, n, text_1 … text_n` (query results), `id, error, 0`, or `id, value, -1` (a client's
//! handle, a COPY's row count or a batch of its data, or undefined). A long result's rows may come first, in entries of their own under the call's
//! id, `id, meta, -1 - n, text_1 … text_n` (see `Early`).
//!
//! An `async fn` per query would create a promise and a threadsafe function (a libuv handle) for
//! every call and build the result's objects through napi: together that cost more than the
//! query's round trip on the JS thread. Here a query costs one queue entry, and outcomes that
//! finish together arrive in one callback.
//!
//! A call that starts while no other call of its pool is in flight has the engine poll instead of
//! sleeping until shortly after its outcome leaves (`busy_poll`).
//!
//! The callback's threadsafe function is weak, like the event callback, but is referenced while
//! any call is outstanding, so a pending query keeps the process alive as a pending promise of
//! an `async fn` would.
use crate::busy_poll::Poller;
use crate::error::{Error, Result};
use crate::options::JsError;
use crate::query::EarlyRows;
use crate::result::ResultSet;
use crate::wire::Encoded;
use napi::bindgen_prelude::{Function, ToNapiValue};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, JsValue as _, Status};
use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A call's outcome, ready to cross.
pub enum Outcome {
    /// Query results.
    Done(Encoded),
    /// The call failed.
    Failed(Box<JsError>),
    /// A number: a checked-out client's handle (see `handles::Clients`), or a release's yes or
    /// no.
    Value(u32),
    /// The call succeeded with nothing to say.
    Nothing,
    /// A count too large for `Value` (a COPY's rows): a JS number.
    Count(u64),
    /// Bytes (a batch of a COPY's data): an ArrayBuffer.
    Bytes(Vec<u8>),
    /// Rows of a result that has not ended: the call's outcome follows later.
    Rows(Encoded),
}

impl From<Vec<ResultSet>> for Outcome {
    fn from(results: Vec<ResultSet>) -> Self {
        Outcome::Done(Encoded::new(results))
    }
}

impl From<u32> for Outcome {
    fn from(handle: u32) -> Self {
        Outcome::Value(handle)
    }
}

impl From<u64> for Outcome {
    fn from(count: u64) -> Self {
        Outcome::Count(count)
    }
}

impl From<Option<u64>> for Outcome {
    fn from(count: Option<u64>) -> Self {
        count.map_or(Outcome::Nothing, Outcome::Count)
    }
}

impl From<()> for Outcome {
    fn from((): ()) -> Self {
        Outcome::Nothing
    }
}

/// What the engine's thread hands over and the JS thread takes.
#[derive(Default)]
struct Outbox {
    queue: Mutex<Vec<(u32, Outcome)>>,
    /// Calls sent and not delivered yet.
    outstanding: AtomicUsize,
    /// The threadsafe function, to reference and unreference it from the JS thread.
    handle: AtomicPtr<sys::napi_threadsafe_function__>,
}

impl Outbox {
    fn take(&self) -> Vec<(u32, Outcome)> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Counts `n` calls delivered; on the JS thread.
    fn delivered(&self, env: &Env, n: usize) {
        if n > 0 && self.outstanding.fetch_sub(n, Ordering::Relaxed) == n {
            let handle = self.handle.load(Ordering::Relaxed);
            // SAFETY: on the JS thread, while the threadsafe function is alive (it is calling us).
            unsafe { sys::napi_unref_threadsafe_function(env.raw(), handle) };
        }
    }
}

impl Outcome {
    /// How many strings it crosses with.
    fn texts(&self) -> usize {
        match self {
            Outcome::Done(e) | Outcome::Rows(e) => e.texts.len(),
            _ => 0,
        }
    }

    /// Whether it ends its call.
    fn is_final(&self) -> bool {
        !matches!(self, Outcome::Rows(_))
    }
}

/// One batch as the JS callback receives it.
pub struct Batch(Vec<(u32, Outcome)>);

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(env: sys::napi_env, batch: Self) -> napi::Result<sys::napi_value> {
        let length = batch.0.iter().map(|(_, outcome)| 3 + outcome.texts()).sum();
        let mut values = Vec::with_capacity(length);
        for (id, outcome) in batch.0 {
            values.push(u32::to_napi_value(env, id)?);
            let at = values.len();
            // An outcome JS cannot hold (a string or buffer over its limits, or no memory left)
            // becomes that call's error; the rest of the batch still arrives.
            if let Err(e) = outcome_values(env, outcome, &mut values) {
                clear_exception(env);
                values.truncate(at);
                let error = Error::ResultTooLarge(format!(
                    "JS could not hold this call's outcome (napi status {}): if it is a large \
                     result, fetch its rows in smaller batches (LIMIT and OFFSET, or a cursor)",
                    e.status
                ));
                values.push(JsError::to_napi_value(env, error.into())?);
                values.push(i32::to_napi_value(env, 0)?);
            }
        }
        let mut array = ptr::null_mut();
        check(sys::napi_create_array_with_length(
            env,
            values.len(),
            &mut array,
        ))?;
        for (at, &value) in values.iter().enumerate() {
            check(sys::napi_set_element(env, array, at as u32, value))?;
        }
        Ok(array)
    }
}

/// Appends what follows an outcome's id in a batch: `meta, n, text_1 … text_n`, `error, 0`,
/// `value, -1` (a number, an ArrayBuffer or undefined), or early rows' `meta, -1 - n, text_1 …
/// text_n`.
unsafe fn outcome_values(
    env: sys::napi_env,
    outcome: Outcome,
    values: &mut Vec<sys::napi_value>,
) -> napi::Result<()> {
    match outcome {
        Outcome::Done(e) => encoded(env, e, false, values)?,
        Outcome::Rows(e) => encoded(env, e, true, values)?,
        Outcome::Failed(error) => {
            values.push(JsError::to_napi_value(env, *error)?);
            values.push(i32::to_napi_value(env, 0)?);
        }
        Outcome::Value(handle) => {
            values.push(u32::to_napi_value(env, handle)?);
            values.push(i32::to_napi_value(env, -1)?);
        }
        Outcome::Nothing => {
            values.push(<()>::to_napi_value(env, ())?);
            values.push(i32::to_napi_value(env, -1)?);
        }
        Outcome::Count(count) => {
            // Exact up to 2^53, more rows than any COPY loads.
            values.push(f64::to_napi_value(env, count as f64)?);
            values.push(i32::to_napi_value(env, -1)?);
        }
        Outcome::Bytes(bytes) => {
            values.push(arraybuffer(env, bytes)?);
            values.push(i32::to_napi_value(env, -1)?);
        }
    }
    Ok(())
}

/// Appends `meta, n, text_1 … text_n` of results, or `meta, -1 - n, …` of `early` rows.
unsafe fn encoded(
    env: sys::napi_env,
    e: Encoded,
    early: bool,
    values: &mut Vec<sys::napi_value>,
) -> napi::Result<()> {
    let n = e.texts.len() as i32;
    values.push(arraybuffer(env, e.meta)?);
    values.push(i32::to_napi_value(env, if early { -1 - n } else { n })?);
    for text in &e.texts {
        values.push(string(env, text)?);
    }
    Ok(())
}

/// Clears the exception a failed napi call may have left pending, so the next calls work.
unsafe fn clear_exception(env: sys::napi_env) {
    let mut pending = false;
    if sys::napi_is_exception_pending(env, &mut pending) == sys::Status::napi_ok && pending {
        let mut exception = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut exception);
    }
}

fn check(status: sys::napi_status) -> napi::Result<()> {
    match status {
        sys::Status::napi_ok => Ok(()),
        s => Err(napi::Error::new(
            Status::from(s),
            "could not build a query's outcome",
        )),
    }
}

/// `bytes` as an ArrayBuffer. Small ones are copied into a new one, which is cheaper than an
/// external one (whose finalizer the garbage collector tracks); large ones are handed over without
/// a copy, which would otherwise zero-fill and copy them on the JS thread.
unsafe fn arraybuffer(env: sys::napi_env, bytes: Vec<u8>) -> napi::Result<sys::napi_value> {
    if bytes.len() >= HAND_OVER_FROM {
        let buffer = napi::bindgen_prelude::ArrayBuffer::from_data(&Env::from_raw(env), bytes)?;
        return Ok(buffer.raw());
    }
    let mut value = ptr::null_mut();
    let mut data = ptr::null_mut();
    check(sys::napi_create_arraybuffer(
        env,
        bytes.len(),
        &mut data,
        &mut value,
    ))?;
    if !bytes.is_empty() {
        ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len());
    }
    Ok(value)
}

/// From this size on, an ArrayBuffer takes over the bytes instead of copying them.
const HAND_OVER_FROM: usize = 64 * 1024;

/// `s` as a JS string; ASCII (the common case) is copied as Latin-1, without UTF-8 decoding.
unsafe fn string(env: sys::napi_env, s: &str) -> napi::Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    let (ptr, len) = (s.as_ptr().cast(), s.len() as isize);
    check(if s.is_ascii() {
        sys::napi_create_string_latin1(env, ptr, len, &mut value)
    } else {
        sys::napi_create_string_utf8(env, ptr, len, &mut value)
    })?;
    Ok(value)
}

/// The JS callback: weak, called without an error argument, with a batch built on the JS thread.
type Callback = ThreadsafeFunction<(), (), Batch, Status, false, true>;

/// Where a pool's query outcomes go.
pub struct Delivery {
    outbox: Arc<Outbox>,
    callback: Callback,
    /// `busyPollMicros`.
    busy_poll: Duration,
}

impl Delivery {
    /// Delivers to `callback`, which receives each batch as one array; a lone call has the engine
    /// poll for `busy_poll` around it.
    pub fn new(callback: Function<'_, Batch, ()>, busy_poll: Duration) -> napi::Result<Delivery> {
        let outbox = Arc::new(Outbox::default());
        let taken = outbox.clone();
        let callback: Callback = callback
            .build_threadsafe_function()
            .weak::<true>()
            .build_callback(move |ctx| {
                let batch = taken.take();
                let ended = batch.iter().filter(|(_, o)| o.is_final()).count();
                taken.delivered(&ctx.env, ended);
                Ok(Batch(batch))
            })?;
        outbox.handle.store(callback.raw(), Ordering::Relaxed);
        Ok(Delivery {
            outbox,
            callback,
            busy_poll,
        })
    }

    /// Runs the call `start(early)` makes on the engine and delivers its outcome under `id`,
    /// and any rows it hands `early` before that; on the JS thread. The call's future is made and
    /// boxed on the engine's thread: a query's is several kilobytes, and moving it around on the
    /// JS thread showed up in profiles.
    pub fn send<S, F, T>(self: &Arc<Self>, env: &Env, id: u32, start: S)
    where
        S: FnOnce(Early) -> F + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
        T: Into<Outcome>,
    {
        if self.outbox.outstanding.fetch_add(1, Ordering::Relaxed) == 0 {
            // SAFETY: on the JS thread; the threadsafe function lives as long as `self`.
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), self.callback.raw()) };
            if let Some(polling) = Poller::engine().start(self.busy_poll) {
                napi::bindgen_prelude::spawn(polling);
            }
        }
        let pending = Pending {
            id,
            delivery: Some(self.clone()),
        };
        let early = Early {
            id,
            delivery: self.clone(),
            sent: AtomicBool::new(false),
        };
        napi::bindgen_prelude::spawn(async move {
            let outcome = Box::pin(start(early)).await;
            pending.deliver(match outcome {
                Ok(value) => value.into(),
                Err(e) => Outcome::Failed(Box::new(e.into())),
            });
        });
    }

    fn push(&self, id: u32, outcome: Outcome) {
        // Early rows come while the server is still sending: the engine has work anyway.
        if outcome.is_final() {
            Poller::engine().extend(self.busy_poll);
        }
        let first = {
            let mut queue = self.outbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push((id, outcome));
            queue.len() == 1
        };
        // Only the first entry wakes the JS thread: the callback takes whatever is queued by then.
        if first {
            self.callback
                .call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// Where a query's long result sends rows before it ends, so that JS decodes them while the
/// server still sends the rest, in short tasks rather than one long one. They queue ahead of the
/// call's outcome, so JS has them all when it arrives; if the call fails, JS drops them.
pub struct Early {
    id: u32,
    delivery: Arc<Delivery>,
    sent: AtomicBool,
}

impl EarlyRows for Early {
    fn send(&self, rows: ResultSet) {
        self.sent.store(true, Ordering::Relaxed);
        let rows = Encoded::new(vec![rows]);
        self.delivery.push(self.id, Outcome::Rows(rows));
    }

    fn sent(&self) -> bool {
        self.sent.load(Ordering::Relaxed)
    }
}

/// A call whose outcome is owed to JS: should its task end without one (a panic, the runtime
/// shutting down), dropping it delivers an error, so no promise waits forever.
struct Pending {
    id: u32,
    delivery: Option<Arc<Delivery>>,
}

impl Pending {
    fn deliver(mut self, outcome: Outcome) {
        if let Some(delivery) = self.delivery.take() {
            delivery.push(self.id, outcome);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(delivery) = self.delivery.take() {
            let error =
                crate::error::Error::Internal("the query's task stopped before it finished".into());
            delivery.push(self.id, Outcome::Failed(Box::new(error.into())));
        }
    }
}
