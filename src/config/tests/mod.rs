//! Unit tests of the resolver: every option and variable, precedence, parsing, messages.
use super::describe::host_text;
use super::*;
use tokio_postgres::config::SslMode;

/// A password no message may contain.
const SECRET: &str = "S3cret-pw";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn url(text: &str) -> Options {
    Options {
        connection_string: Some(text.into()),
        ..Default::default()
    }
}

fn ok(options: &Options, pairs: &[(&str, &str)]) -> Config {
    resolve(options, &env(pairs)).unwrap_or_else(|e| panic!("{e}"))
}

/// The message of the `INVALID_CONFIG` error `resolve` gives, checked for the password.
fn error(options: &Options, pairs: &[(&str, &str)]) -> String {
    let e = resolve(options, &env(pairs)).expect_err("should be invalid");
    assert_eq!(e.code(), "INVALID_CONFIG");
    let message = e.to_string();
    assert!(!message.contains(SECRET), "leaks the password: {message}");
    assert!(
        !message.contains("S3cret"),
        "leaks part of the password: {message}"
    );
    message
}

fn tcp(host: &str) -> Host {
    Host::Tcp(host.into())
}

fn unix(path: &str) -> Host {
    Host::Unix(path.into())
}

mod errors;
mod pgbouncer;
mod precedence;
mod settings;
mod topology;
mod url;
