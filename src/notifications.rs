//! LISTEN/NOTIFY at the napi edge: the manager's `listen`, `unlisten` and `notify` calls (their
//! outcomes go through the delivery, as a query's do), and the way notifications reach JS.
//!
//! Notifications are queued on the engine's thread and taken all at once by one JS callback
//! when the JS thread runs it: only the first of a burst wakes JS, so 10,000 sent together cost
//! a handful of calls rather than 10,000. The callback's threadsafe function is weak, like the
//! event callback; the facade references it (`NotificationOutlet::hold`) while it listens on
//! any channel, so that a process listening for work stays alive as it would with pg.
use crate::listen::{Notification, Sink};
use crate::manager::NativePool;
use crate::options::JsNotifications;
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Status};
use napi_derive::napi;
use std::sync::{Arc, Mutex};

/// The JS callback: weak, called without an error argument, with the queue taken on the JS
/// thread.
type Callback = ThreadsafeFunction<(), (), JsNotifications, Status, false, true>;

/// Notifications waiting for the JS thread, with the LISTEN connection each came on.
type Queue = Mutex<Vec<(i32, Notification)>>;

/// Hands notifications to the facade's callback.
struct JsSink {
    queue: Arc<Queue>,
    callback: Callback,
}

impl Sink for JsSink {
    fn send(&self, pid: i32, notifications: Vec<Notification>) {
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            let first = queue.is_empty();
            queue.extend(notifications.into_iter().map(|n| (pid, n)));
            first
        };
        // Only the first wakes the JS thread: the callback takes whatever is queued by then.
        if first {
            self.callback
                .call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// The facade's hold on the notification callback.
#[napi]
pub struct NotificationOutlet {
    sink: Arc<JsSink>,
}

#[napi]
impl NotificationOutlet {
    /// Keeps the process alive (`true`) while channels are listened, or lets it exit (`false`).
    #[napi]
    pub fn hold(&self, env: Env, on: bool) {
        let raw = self.sink.callback.raw();
        // SAFETY: on the JS thread, while the threadsafe function is alive (`self` holds it).
        unsafe {
            if on {
                sys::napi_ref_threadsafe_function(env.raw(), raw);
            } else {
                sys::napi_unref_threadsafe_function(env.raw(), raw);
            }
        }
    }
}

/// LISTEN/NOTIFY.
#[napi]
impl NativePool {
    /// Sends every notification received to `callback`, as columns (`JsNotifications`).
    #[napi]
    pub fn notify_to(
        &self,
        callback: Function<'_, JsNotifications, ()>,
    ) -> napi::Result<NotificationOutlet> {
        let queue = Arc::new(Queue::default());
        let taken = queue.clone();
        let callback: Callback = callback
            .build_threadsafe_function()
            .weak::<true>()
            .build_callback(move |_| {
                let arrived = std::mem::take(&mut *taken.lock().unwrap_or_else(|e| e.into_inner()));
                Ok(arrived.into())
            })?;
        let sink = Arc::new(JsSink { queue, callback });
        self.pool.notify_to(sink.clone());
        Ok(NotificationOutlet { sink })
    }

    /// Listens on `channel`; delivered under `id` once `LISTEN` is in force on the server.
    #[napi]
    pub fn listen_channel(&self, env: Env, id: u32, channel: String) -> napi::Result<()> {
        let pool = self.pool.clone();
        self.delivery()?
            .send(&env, id, move |_| async move { pool.listen(channel).await });
        Ok(())
    }

    /// Stops listening on `channel`; delivered under `id`.
    #[napi]
    pub fn unlisten_channel(&self, env: Env, id: u32, channel: String) -> napi::Result<()> {
        let pool = self.pool.clone();
        self.delivery()?.send(
            &env,
            id,
            move |_| async move { pool.unlisten(channel).await },
        );
        Ok(())
    }

    /// Sends a notification on a pooled connection (`pg_notify`); delivered under `id`.
    #[napi]
    pub fn notify(&self, env: Env, id: u32, channel: String, payload: String) -> napi::Result<()> {
        let pool = self.pool.clone();
        self.delivery()?.send(&env, id, move |_| async move {
            pool.notify(channel, payload).await
        });
        Ok(())
    }
}
