//! The napi edge of checked-out clients: `NativeClient`, and the `NativePool` methods that hand
//! clients out. Each method converts its arguments, calls one core function in `client`, and
//! converts the result back.
use crate::client::{self, Client};
use crate::delivery::Delivery;
use crate::manager::NativePool;
use crate::options::{params, JsError, JsOutcome, JsValue};
use napi::Env;
use napi_derive::napi;
use std::sync::Arc;

/// The native half of a client from `getClient()` or `executeTransaction`.
#[napi]
pub struct NativeClient {
    client: Arc<Client>,
    delivery: Arc<Delivery>,
}

/// What a checkout resolves to: a client, or an error as data.
#[napi(object, object_from_js = false)]
pub struct JsCheckout {
    /// The client, when the checkout succeeded.
    pub client: Option<NativeClient>,
    /// The error, when it failed.
    pub error: Option<JsError>,
}

impl JsCheckout {
    fn new(r: crate::error::Result<Client>, delivery: Arc<Delivery>) -> Self {
        match r {
            Ok(client) => JsCheckout {
                client: Some(NativeClient {
                    client: Arc::new(client),
                    delivery,
                }),
                error: None,
            },
            Err(e) => JsCheckout {
                client: None,
                error: Some(e.into()),
            },
        }
    }
}

#[napi]
impl NativeClient {
    /// Runs a query string with prepared values, after the client's earlier calls; its outcome
    /// is delivered under `id`.
    #[napi]
    pub fn query(&self, env: Env, id: u32, text: String, values: Vec<JsValue>) {
        let client = self.client.clone();
        let params = params(values);
        self.delivery.send(&env, id, move || async move {
            client.query(&text, params).await
        });
    }

    /// Commits the client's transaction, refusing to commit an aborted one, and releases it.
    #[napi]
    pub async fn commit_and_release(&self) -> JsOutcome {
        self.client.commit_and_release().await.into()
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
    /// `begin` (executeTransaction's BEGIN) goes out with the client's first query.
    #[napi]
    pub async fn checkout(&self, wait: bool, begin: Option<String>) -> napi::Result<JsCheckout> {
        let delivery = self.delivery()?.clone();
        Ok(JsCheckout::new(
            Client::checkout(&self.pool, wait, begin).await,
            delivery,
        ))
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
        self.delivery()?.send(&env, id, move || async move {
            client::query_holding(&pool, &text, params).await
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
