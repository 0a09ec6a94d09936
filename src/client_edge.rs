//! The napi edge of checked-out clients: `NativeClient`, and the `NativePool` methods that hand
//! clients out. Each method converts its arguments, calls one core function in `client`, and
//! converts the result back.
use crate::client::{self, Client};
use crate::manager::NativePool;
use crate::options::{params, JsError, JsOutcome, JsValue};
use napi_derive::napi;

/// The native half of a client from `getClient()` or `executeTransaction`.
#[napi]
pub struct NativeClient {
    client: Client,
}

/// What a checkout resolves to: a client, or an error as data.
#[napi(object, object_from_js = false)]
pub struct JsCheckout {
    /// The client, when the checkout succeeded.
    pub client: Option<NativeClient>,
    /// The error, when it failed.
    pub error: Option<JsError>,
}

impl From<crate::error::Result<Client>> for JsCheckout {
    fn from(r: crate::error::Result<Client>) -> Self {
        match r {
            Ok(client) => JsCheckout {
                client: Some(NativeClient { client }),
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
    /// Runs a query string with prepared values, after the client's earlier calls.
    #[napi]
    pub async fn query(&self, text: String, values: Vec<JsValue>) -> JsOutcome {
        self.client.query(&text, params(values)).await.into()
    }

    /// Commits the client's transaction, refusing to commit an aborted one, and releases it.
    #[napi]
    pub async fn commit_and_release(&self) -> JsOutcome {
        self.client
            .commit_and_release()
            .await
            .map(|()| Vec::new())
            .into()
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
    pub async fn checkout(&self, wait: bool, begin: Option<String>) -> JsCheckout {
        Client::checkout(&self.pool, wait, begin).await.into()
    }

    /// Runs a query for code that already holds a client of this pool.
    #[napi]
    pub async fn query_holding(&self, text: String, values: Vec<JsValue>) -> JsOutcome {
        client::query_holding(&self.pool, &text, params(values))
            .await
            .into()
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
