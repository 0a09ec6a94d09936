//! The exported class: each method converts its arguments, calls one core function, and
//! converts the result back.
use crate::config;
use crate::options::{params, JsOutcome, JsValue, PoolOptions};
use crate::pool::Pool;
use napi::{Error, Status};
use napi_derive::napi;
use std::sync::Arc;

/// The native half of `DatabaseManager`; the JS facade in `lib/` wraps it.
#[napi]
pub struct NativePool {
    pub(crate) pool: Arc<Pool>,
}

#[napi]
impl NativePool {
    /// Resolves the configuration and builds the (still unconnected) pool.
    #[napi(constructor)]
    pub fn new(options: Option<PoolOptions>) -> napi::Result<Self> {
        let options = options.unwrap_or_default();
        let config = config::resolve(&(&options).into(), &config::environment())
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        let pool = Pool::new(config, options.text_oids.unwrap_or_default())
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(NativePool {
            pool: Arc::new(pool),
        })
    }

    /// Runs a query string with prepared values.
    #[napi]
    pub async fn query(&self, text: String, values: Vec<JsValue>) -> JsOutcome {
        self.pool.query(&text, params(values)).await.into()
    }

    /// Connects now and runs a check query.
    #[napi]
    pub async fn initialize(&self) -> JsOutcome {
        self.pool.initialize().await.map(|()| Vec::new()).into()
    }

    /// Closes the pool once calls in flight finish.
    #[napi]
    pub async fn close(&self) {
        self.pool.close().await
    }

    /// Where the pool connects, without secrets: `user@host:port/database`.
    #[napi]
    pub fn describe(&self) -> String {
        config::describe(self.pool.config())
    }
}
