//! Where a setting's value comes from (an option, the connection string, the environment), in
//! that order of precedence, and the checks and messages that name it as the user wrote it.
use super::*;

/// Where a value came from, named the way the user wrote it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Source {
    /// A JS option.
    Option(&'static str),
    /// A parameter of the connection string (`url` is `` `connectionString` `` or `DATABASE_URL`).
    Url {
        url: &'static str,
        part: &'static str,
    },
    /// An environment variable.
    Env(&'static str),
    /// The default of an option.
    Default(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Option(name) => write!(f, "`{name}`"),
            Source::Url { url, part } => write!(f, "the {part} in {url}"),
            Source::Env(name) => f.write_str(name),
            Source::Default(name) => write!(f, "the default `{name}`"),
        }
    }
}

/// A number as JavaScript prints it, so a message shows what the user wrote.
pub(super) fn js_number(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".into(),
        v if v == f64::INFINITY => "Infinity".into(),
        v if v == f64::NEG_INFINITY => "-Infinity".into(),
        0.0 => "0".into(),
        v => v.to_string(),
    }
}

/// "`max` must be an integer ≥ 1 (got 0)".
pub(super) fn out_of_bounds(source: Source, bounds: Bounds, over: bool, got: &str) -> Error {
    let Bounds { noun, lo, hi } = bounds;
    let range = if hi == UNBOUNDED && !over {
        format!("≥ {lo}")
    } else {
        format!("from {lo} to {hi}")
    };
    Error::config(format!("{source} must be {noun} {range} (got {got})"))
}

/// Checks a JS number against `bounds`.
pub(super) fn option_integer(source: Source, value: f64, bounds: Bounds) -> Result<u64> {
    if value.is_finite() && value.fract() == 0.0 && value >= bounds.lo as f64 {
        if value <= bounds.hi as f64 {
            return Ok(value as u64);
        }
        return Err(out_of_bounds(source, bounds, true, &js_number(value)));
    }
    Err(out_of_bounds(source, bounds, false, &js_number(value)))
}

/// Parses an environment variable's text against `bounds`.
pub(super) fn env_integer(source: Source, text: &str, bounds: Bounds) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(v) if (bounds.lo..=bounds.hi).contains(&v) => Ok(v),
        Ok(v) => Err(out_of_bounds(
            source,
            bounds,
            v > bounds.hi,
            &format!("{text:?}"),
        )),
        Err(_) => Err(out_of_bounds(source, bounds, false, &format!("{text:?}"))),
    }
}

/// The parsed connection string and the name it goes by in messages.
pub(super) struct Url {
    pub(super) name: &'static str,
    pub(super) pg: tokio_postgres::Config,
    /// Its parameters that tokio-postgres does not parse: TLS (see `tls::URL_PARAMETERS`) and
    /// `target_session_attrs` (see `topology`).
    pub(super) libpq: Vec<(String, String)>,
    /// Its `pgbouncer` parameter, as written.
    pub(super) pgbouncer: Option<String>,
    /// The string as given (never shown: it may hold a password).
    pub(super) text: String,
}

/// What [`resolve`] reads from: the environment and the parsed connection string.
pub(super) struct Sources<'a> {
    pub(super) env: &'a HashMap<String, String>,
    pub(super) url: Option<Url>,
}

impl Sources<'_> {
    /// The first of `names` that is set and not empty.
    pub(super) fn env(&self, names: &[&'static str]) -> Option<(&str, Source)> {
        names.iter().find_map(|name| {
            let value = self.env.get(*name).filter(|v| !v.is_empty())?;
            Some((value.as_str(), Source::Env(name)))
        })
    }

    /// The connection string's `part`, when it sets it.
    pub(super) fn url<'u, T>(
        &'u self,
        part: &'static str,
        get: impl FnOnce(&'u tokio_postgres::Config) -> Option<T>,
    ) -> Option<(T, Source)> {
        let url = self.url.as_ref()?;
        Some((
            get(&url.pg)?,
            Source::Url {
                url: url.name,
                part,
            },
        ))
    }

    /// A text setting: the option, the connection string's `part`, the environment.
    pub(super) fn text(
        &self,
        setting: &Setting,
        option: Option<&str>,
        part: &'static str,
        get: impl FnOnce(&tokio_postgres::Config) -> Option<&str>,
    ) -> Option<(String, Source)> {
        if let Some(value) = option {
            return Some((value.to_owned(), Source::Option(setting.option)));
        }
        if let Some((value, source)) = self.url(part, get) {
            return Some((value.to_owned(), source));
        }
        self.env(setting.env)
            .map(|(value, source)| (value.to_owned(), source))
    }

    /// An integer setting: the option, the connection string's value, the environment.
    pub(super) fn integer(
        &self,
        setting: &Setting,
        option: Option<f64>,
        url: Option<(u64, Source)>,
        bounds: Bounds,
    ) -> Result<Option<(u64, Source)>> {
        if let Some(value) = option {
            let source = Source::Option(setting.option);
            return option_integer(source, value, bounds).map(|v| Some((v, source)));
        }
        if let Some((value, source)) = url {
            if !(bounds.lo..=bounds.hi).contains(&value) {
                return Err(out_of_bounds(
                    source,
                    bounds,
                    value > bounds.hi,
                    &value.to_string(),
                ));
            }
            return Ok(Some((value, source)));
        }
        match self.env(setting.env) {
            Some((text, source)) => env_integer(source, text, bounds).map(|v| Some((v, source))),
            None => Ok(None),
        }
    }
}

/// Refuses an empty string where the server needs a name.
pub(super) fn not_empty(value: Option<(String, Source)>) -> Result<Option<(String, Source)>> {
    match value {
        Some((v, source)) if v.is_empty() => Err(Error::config(format!(
            "{source} must not be empty: leave it out to use the next source"
        ))),
        other => Ok(other),
    }
}
