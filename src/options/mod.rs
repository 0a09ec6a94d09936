//! The JS-facing shapes (`#[napi(object)]`) and their conversions to and from the core types.
//! napi types appear only here and in `manager.rs`.
mod results;

pub use results::*;

use crate::config;
use crate::error::Error;
use crate::events::Event;
use crate::health::Health;
use crate::listen::Notification;
use crate::log::Record;
use crate::params::Param;
use crate::stats::{Listening, Snapshot, Summary};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use std::collections::HashMap;

/// Pool options as the JS facade passes them (already type-checked there).
#[napi(object)]
#[derive(Default)]
pub struct PoolOptions {
    /// See `index.d.ts`.
    pub connection_string: Option<String>,
    /// See `index.d.ts`.
    pub host: Option<String>,
    /// See `index.d.ts`.
    pub hosts: Option<Vec<String>>,
    /// See `index.d.ts`.
    pub target_session_attrs: Option<String>,
    /// See `index.d.ts`.
    pub load_balance_hosts: Option<String>,
    /// See `index.d.ts`.
    pub port: Option<f64>,
    /// See `index.d.ts`.
    pub database: Option<String>,
    /// See `index.d.ts`.
    pub user: Option<String>,
    /// See `index.d.ts`.
    pub password: Option<String>,
    /// See `index.d.ts`.
    pub max: Option<f64>,
    /// See `index.d.ts`.
    pub min: Option<f64>,
    /// See `index.d.ts`.
    pub application_name: Option<String>,
    /// See `index.d.ts`.
    pub connection_timeout_millis: Option<f64>,
    /// See `index.d.ts`.
    pub statement_timeout: Option<f64>,
    /// See `index.d.ts`.
    pub statement_cache: Option<bool>,
    /// See `index.d.ts`.
    pub pgbouncer: Option<bool>,
    /// See `index.d.ts`.
    pub pipeline_quick_queries: Option<bool>,
    /// See `index.d.ts`.
    pub max_prepared_statements: Option<f64>,
    /// See `index.d.ts`.
    pub idle_timeout_millis: Option<f64>,
    /// See `index.d.ts`.
    pub max_lifetime_seconds: Option<f64>,
    /// See `index.d.ts`.
    pub max_uses: Option<f64>,
    /// See `index.d.ts`.
    pub keep_alive: Option<bool>,
    /// See `index.d.ts`.
    pub keep_alive_initial_delay_millis: Option<f64>,
    /// The `options` server settings, values already turned into text by the facade.
    pub server_settings: Option<HashMap<String, String>>,
    pub leak_detection_threshold: Option<f64>,
    /// See `index.d.ts`.
    pub busy_poll_micros: Option<f64>,
    /// OIDs of types the facade parses itself from text (keys of the `types` option).
    pub text_oids: Option<Vec<u32>>,
    /// See `index.d.ts`.
    pub name: Option<String>,
    /// See `index.d.ts`.
    pub log_level: Option<String>,
    /// See `index.d.ts`.
    pub slow_query_millis: Option<f64>,
    /// See `index.d.ts`.
    pub log_parameters: Option<bool>,
    /// `circuitBreaker`, as the facade normalised it.
    pub circuit_breaker: Option<CircuitBreakerOptions>,
    /// See `index.d.ts`.
    pub tcp_user_timeout_millis: Option<f64>,
    /// See `index.d.ts`.
    pub query_timeout_millis: Option<f64>,
    /// See `index.d.ts`.
    pub cancel_timeout_millis: Option<f64>,
    /// node-postgres's `ssl`, as the facade normalised it.
    pub ssl: Option<SslOptions>,
    /// See `index.d.ts`.
    pub sslmode: Option<String>,
    /// See `index.d.ts`.
    pub sslrootcert: Option<String>,
    /// See `index.d.ts`.
    pub sslcert: Option<String>,
    /// See `index.d.ts`.
    pub sslkey: Option<String>,
    /// See `index.d.ts`.
    pub sslpassword: Option<String>,
    /// See `index.d.ts`.
    pub channel_binding: Option<String>,
    /// See `index.d.ts`.
    pub sslnegotiation: Option<String>,
}

/// A call's own limit, as the facade passes it.
#[napi(object)]
pub struct JsLimit {
    /// The call's `timeoutMillis` (0: none); unset, the manager's `queryTimeoutMillis`.
    pub timeout_millis: Option<u32>,
    /// Whether the call has a signal, whose abort `abortCall(id)` fires.
    pub abortable: bool,
}

/// The `circuitBreaker` option: `enabled` is false for `circuitBreaker: false`.
#[napi(object)]
#[derive(Default)]
pub struct CircuitBreakerOptions {
    /// `false` turns the breaker off.
    pub enabled: bool,
    /// See `index.d.ts`.
    pub failure_threshold: Option<f64>,
    /// See `index.d.ts`.
    pub reset_timeout_millis: Option<f64>,
}

/// node-postgres's `ssl` option: `enabled` is false for `ssl: false`; PEM texts as Buffers.
#[napi(object)]
#[derive(Default)]
pub struct SslOptions {
    /// `ssl: false` → false; `true` or an object → true.
    pub enabled: bool,
    /// See `index.d.ts`.
    pub reject_unauthorized: Option<bool>,
    /// Root certificates, PEM (several strings or Buffers concatenated by the facade).
    pub ca: Option<Buffer>,
    /// Client certificate, PEM.
    pub cert: Option<Buffer>,
    /// Client key, PEM.
    pub key: Option<Buffer>,
    /// Password of an encrypted `key`.
    pub passphrase: Option<String>,
    /// See `index.d.ts`.
    pub servername: Option<String>,
}

impl From<&SslOptions> for config::tls::SslOption {
    fn from(o: &SslOptions) -> Self {
        config::tls::SslOption {
            enabled: o.enabled,
            reject_unauthorized: o.reject_unauthorized,
            ca: o.ca.as_ref().map(|b| b.to_vec()),
            cert: o.cert.as_ref().map(|b| b.to_vec()),
            key: o.key.as_ref().map(|b| b.to_vec()),
            passphrase: o.passphrase.clone(),
            servername: o.servername.clone(),
        }
    }
}

impl From<&PoolOptions> for config::Options {
    fn from(o: &PoolOptions) -> Self {
        config::Options {
            connection_string: o.connection_string.clone(),
            host: o.host.clone(),
            hosts: o.hosts.clone(),
            target_session_attrs: o.target_session_attrs.clone(),
            load_balance_hosts: o.load_balance_hosts.clone(),
            port: o.port,
            database: o.database.clone(),
            user: o.user.clone(),
            password: o.password.clone(),
            max: o.max,
            min: o.min,
            application_name: o.application_name.clone(),
            connection_timeout_millis: o.connection_timeout_millis,
            statement_timeout: o.statement_timeout,
            statement_cache: o.statement_cache,
            pgbouncer: o.pgbouncer,
            pipeline_quick_queries: o.pipeline_quick_queries,
            max_prepared_statements: o.max_prepared_statements,
            idle_timeout_millis: o.idle_timeout_millis,
            max_lifetime_seconds: o.max_lifetime_seconds,
            max_uses: o.max_uses,
            keep_alive: o.keep_alive,
            keep_alive_initial_delay_millis: o.keep_alive_initial_delay_millis,
            name: o.name.clone(),
            log_level: o.log_level.clone(),
            slow_query_millis: o.slow_query_millis,
            log_parameters: o.log_parameters,
            server_settings: {
                // Sorted, so the startup options are the same from run to run.
                let mut settings: Vec<(String, String)> = o
                    .server_settings
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                settings.sort();
                settings
            },
            leak_detection_threshold: o.leak_detection_threshold,
            busy_poll_micros: o.busy_poll_micros,
            circuit_breaker: o.circuit_breaker.as_ref().map(|c| {
                c.enabled
                    .then_some((c.failure_threshold, c.reset_timeout_millis))
            }),
            tcp_user_timeout_millis: o.tcp_user_timeout_millis,
            query_timeout_millis: o.query_timeout_millis,
            cancel_timeout_millis: o.cancel_timeout_millis,
            tls: config::tls::TlsOptions {
                ssl: o.ssl.as_ref().map(Into::into),
                sslmode: o.sslmode.clone(),
                sslrootcert: o.sslrootcert.clone(),
                sslcert: o.sslcert.clone(),
                sslkey: o.sslkey.clone(),
                sslpassword: o.sslpassword.clone(),
                channel_binding: o.channel_binding.clone(),
                sslnegotiation: o.sslnegotiation.clone(),
            },
        }
    }
}

/// A query value as the facade prepared it: text, a Buffer, or null.
pub type JsValue = Option<Either<String, Buffer>>;

/// Converts prepared JS values into parameters.
pub fn params(values: Vec<JsValue>) -> Vec<Param> {
    values
        .into_iter()
        .map(|v| match v {
            None => Param::Null,
            Some(Either::A(text)) => Param::Text(text),
            Some(Either::B(bytes)) => Param::Binary(bytes.to_vec()),
        })
        .collect()
}
