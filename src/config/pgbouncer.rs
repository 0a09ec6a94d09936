//! `pgbouncer`: PgBouncer's transaction pooling mode, and the settings that cannot go with it.
//!
//! In transaction mode PgBouncer gives each transaction (or each statement outside one) whichever
//! server connection is free, so nothing may depend on the session: a statement prepared on one
//! server connection is not there on the next (26000), and a `SET` outside a transaction stays on
//! a server connection that other clients then use. PgBouncer 1.18 also refuses the `options`
//! startup parameter, in which `statementTimeout` and the `options` server settings travel.
use super::*;

/// The connection string's parameter for the mode (Prisma's URLs carry it too); libpq does not
/// know it, so it is taken out before tokio-postgres reads the string.
pub(super) const PGBOUNCER_PARAMETER: &str = "pgbouncer";

/// Whether the mode is on, and where that was said (`None` when it is off): `pgbouncer`, else
/// the connection string's `pgbouncer=`, else `DB_PGBOUNCER`, else the default.
pub(super) fn pgbouncer(option: Option<bool>, sources: &Sources) -> Result<Option<Source>> {
    if let Some(on) = option {
        return Ok(on.then_some(Source::Option(PGBOUNCER.option)));
    }
    let url = sources.url.as_ref().and_then(|u| {
        let source = Source::Url {
            url: u.name,
            part: "pgbouncer parameter",
        };
        Some((u.pgbouncer.as_deref()?, source))
    });
    match url.or_else(|| sources.env(PGBOUNCER.env)) {
        Some((text, source)) => Ok(switch(text, source)?.then_some(source)),
        None => Ok(defaults::PGBOUNCER.then_some(Source::Default(PGBOUNCER.option))),
    }
}

/// A switch written as text (a connection string's parameter, an environment variable).
fn switch(text: &str, source: Source) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(Error::config(format!(
            "{source} must be true or false (got {text:?})"
        ))),
    }
}

/// What would be sent in the `options` startup parameter, by where it was set.
pub(super) enum Startup {
    /// `statementTimeout` or `DB_STATEMENT_TIMEOUT`.
    StatementTimeout(Source),
    /// The connection string's `options`, or the `options` object.
    Settings(Source),
}

/// Refuses, in the mode said on by `on`, what assumes a session of its own: startup settings and
/// an explicit `statementCache: true`.
pub(super) fn refuse_session_state(
    on: Source,
    startup: &[Startup],
    statement_cache: Option<bool>,
) -> Result<()> {
    const LEAKS: &str = "PgBouncer 1.18 refuses the `options` startup parameter it travels in, \
                         and a SET would stay on a server connection that other clients then use";
    if let Some(first) = startup.first() {
        return Err(Error::config(match first {
            Startup::StatementTimeout(source) => format!(
                "{source} cannot be used with {on}: {LEAKS}. Set it on the server for the role or \
                 the database (ALTER ROLE … SET statement_timeout = …), with SET LOCAL inside a \
                 transaction, or limit queries from the client with `queryTimeoutMillis`"
            ),
            Startup::Settings(source) => format!(
                "{source} cannot be used with {on}: {LEAKS}. Set them on the server for the role \
                 or the database (ALTER ROLE … SET name = value), or with SET LOCAL inside a \
                 transaction"
            ),
        }));
    }
    if statement_cache == Some(true) {
        return Err(Error::config(format!(
            "`statementCache: true` cannot be used with {on}: in transaction mode PgBouncer runs \
             each query on whichever server connection is free, where a statement prepared on \
             another does not exist (26000). Leave `statementCache` out"
        )));
    }
    Ok(())
}
