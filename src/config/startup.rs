//! The `options` startup parameter: `statementTimeout` (or `DB_STATEMENT_TIMEOUT`), the
//! connection string's `options` and the `options` server settings, in the order the server
//! should apply them; none of them with `pgbouncer` (see `pgbouncer`).
use super::*;

/// The startup parameter `options`, if anything sets it. The server applies startup options in
/// order, so the one that should win goes last: an explicit `statementTimeout` after the
/// connection string's `options`, `DB_STATEMENT_TIMEOUT` before them. With the PgBouncer mode on
/// (`pgbouncer` says where), anything here is refused.
pub(super) fn startup_options(
    options: &Options,
    sources: &Sources,
    pgbouncer: Option<Source>,
) -> Result<Option<String>> {
    let timeout = sources.integer(&STATEMENT_TIMEOUT, options.statement_timeout, None, MILLIS)?;
    let timeout = timeout.map(|(ms, source)| (format!("-c statement_timeout={ms}"), source));
    let url_options = sources
        .url("options parameter", |u| u.get_options())
        .map(|(text, source)| (text.to_owned(), source));
    let settings = server_settings(&options.server_settings)?;
    if let Some(on) = pgbouncer {
        let startup = [
            timeout.as_ref().map(|(_, s)| Startup::StatementTimeout(*s)),
            url_options.as_ref().map(|(_, s)| Startup::Settings(*s)),
            settings
                .as_ref()
                .map(|_| Startup::Settings(Source::Option("options"))),
        ];
        let startup: Vec<Startup> = startup.into_iter().flatten().collect();
        refuse_session_state(on, &startup, options.statement_cache)?;
    }
    let url_options = url_options.map(|(text, _)| text);
    let startup: Vec<String> = match timeout {
        Some((timeout, Source::Option(_))) => [url_options, settings, Some(timeout)],
        Some((timeout, _)) => [Some(timeout), url_options, settings],
        None => [url_options, settings, None],
    }
    .into_iter()
    .flatten()
    .collect();
    Ok((!startup.is_empty()).then(|| startup.join(" ")))
}

/// The `options` server settings as startup options (`-c name=value …`), with the escaping the
/// server's option splitter expects: a backslash before spaces and backslashes.
fn server_settings(settings: &[(String, String)]) -> Result<Option<String>> {
    let mut out = Vec::with_capacity(settings.len());
    for (name, value) in settings {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return Err(Error::config(format!(
                "`options` keys must be server setting names such as search_path (got {name:?})"
            )));
        }
        let mut escaped = String::with_capacity(value.len());
        for c in value.chars() {
            if c == '\\' || c.is_whitespace() {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        out.push(format!("-c {name}={escaped}"));
    }
    Ok((!out.is_empty()).then(|| out.join(" ")))
}
