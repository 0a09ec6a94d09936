//! The napi edge of checked-out clients: `NativeClient`, and the `NativePool` methods that hand
//! clients out. Each method converts its arguments, calls one core function in `client`, and
//! converts the result back.
use crate::client::{self, Client};
use crate::delivery::Delivery;
use crate::manager::NativePool;
use crate::options::{params, JsValue};
use napi::Env;
use napi_derive::napi;
use std::sync::Arc;

/// The native half of a client from `getClient()` or `executeTransaction`.
#[napi]
pub struct NativeClient {
    client: Arc<Client>,
    delivery: Arc<Delivery>,
}

#[napi]
impl NativeClient {
    /// Runs a query string with prepared values, after the client's earlier calls; its outcome
    /// is delivered under `id`.
    #[napi]
    pub fn query(&self, env: Env, id: u32, text: String, values: Vec<JsValue>) {
        let client = self.client.clone();
        let params = params(values);
        self.delivery.send(&env, id, move |early| async move {
            client.query(&text, params, &early).await
        });
    }

    /// Commits the client's transaction, refusing to commit an aborted one, and releases it; the
    /// outcome is delivered under `id`.
    #[napi]
    pub fn commit_and_release(&self, env: Env, id: u32) {
        let client = self.client.clone();
        self.delivery.send(&env, id, move |_| async move {
            client.commit_and_release().await
        });
    }

    /// Returns the connection (rolled back if needed) or, with `destroy`, closes it. Resolves to
    /// whether a transaction was open and did not survive.
    #[napi]
    pub async fn release(&self, destroy: bool) -> bool {
        self.client.release(destroy).await
    }

    /// Cancels what the client runs, rolls back, and releases it.
    #[napi]
    pub async fn abort(&self) -> bool {
        self.client.abort().await
    }
}

#[napi]
impl NativePool {
    /// Checks out a client; without `wait`, fails with `POOL_DEADLOCK` when none is free now.
    /// `begin` (executeTransaction's BEGIN) goes out with the client's first query. The client,
    /// or the error, is delivered under `id`.
    #[napi]
    pub fn checkout(
        &self,
        env: Env,
        id: u32,
        wait: bool,
        begin: Option<String>,
    ) -> napi::Result<()> {
        let pool = self.pool.clone();
        let delivery = self.delivery()?.clone();
        self.delivery()?.send(&env, id, move |_| async move {
            let client = Client::checkout(&pool, wait, begin).await?;
            Ok(NativeClient {
                client: Arc::new(client),
                delivery,
            })
        });
        Ok(())
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
