//! The `logLevel`, `slowQueryMillis` and `logParameters` settings.
use super::*;

/// The level names `logLevel` accepts, most severe first.
pub(super) const LEVELS: [(&str, Option<tracing::Level>); 6] = [
    ("off", None),
    ("error", Some(tracing::Level::ERROR)),
    ("warn", Some(tracing::Level::WARN)),
    ("info", Some(tracing::Level::INFO)),
    ("debug", Some(tracing::Level::DEBUG)),
    ("trace", Some(tracing::Level::TRACE)),
];

/// `LOG_LEVEL` is often set for the application's own logger, so the names pino and winston use
/// are read as the nearest level here rather than refused.
pub(super) const LEVEL_SYNONYMS: [(&str, &str); 5] = [
    ("silent", "off"),
    ("fatal", "error"),
    ("http", "debug"),
    ("verbose", "debug"),
    ("silly", "trace"),
];

/// `logLevel`, `LOG_LEVEL`, `slowQueryMillis` and `logParameters`.
pub(super) fn log_settings(options: &Options, sources: &Sources) -> Result<LogSettings> {
    let named = |name: &str| LEVELS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l);
    let level = match (&options.log_level, sources.env(LOG_LEVEL.env)) {
        (Some(name), _) => named(name).ok_or_else(|| {
            Error::config(format!(
                "`logLevel` must be 'error', 'warn', 'info', 'debug', 'trace' or 'off' (got {name:?})"
            ))
        })?,
        (None, Some((text, source))) => {
            let lower = text.trim().to_ascii_lowercase();
            let name = LEVEL_SYNONYMS
                .iter()
                .find(|(s, _)| *s == lower)
                .map_or(lower.as_str(), |(_, n)| n);
            named(name).ok_or_else(|| {
                Error::config(format!(
                    "{source} must be error, warn, info, debug, trace or off (got {text:?}): \
                     unset it or pass `logLevel`"
                ))
            })?
        }
        (None, None) => Some(defaults::LOG_LEVEL),
    };
    let slow = sources.integer(&SLOW_QUERY, options.slow_query_millis, None, MILLIS)?;
    Ok(LogSettings {
        level,
        slow_query: slow
            .filter(|(ms, _)| *ms > 0)
            .map(|(ms, _)| Duration::from_millis(ms)),
        parameters: options.log_parameters.unwrap_or(false),
    })
}
