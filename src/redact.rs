//! Keeps secrets out of every text the pool shows: log lines, log fields and
//! `getPoolStatistics().lastError`. Messages the pool writes itself never hold a password; this is
//! the second line, for text that comes from elsewhere (SQL the application runs, a server error
//! quoting a value): the configured password, the password of a `postgres://user:password@` URL,
//! a libpq `password=…` pair and SQL's `PASSWORD '…'` are replaced by `***`.

/// What replaces a secret.
pub const MASK: &str = "***";

/// A configured password shorter than this is not searched for verbatim: masking every `a` of a
/// message would make it unreadable, and such a password is not a secret anyway. The patterns
/// still apply.
const SHORTEST_SECRET: usize = 4;

/// Redacts the secrets of one pool.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor that also masks `password` wherever it appears verbatim.
    pub fn new(password: Option<&[u8]>) -> Self {
        Redactor::default().also(password.and_then(|p| std::str::from_utf8(p).ok()))
    }

    /// The same redactor, also masking `secret` (such as `sslpassword`) wherever it appears.
    pub fn also(mut self, secret: Option<&str>) -> Self {
        if let Some(secret) = secret.filter(|s| s.chars().count() >= SHORTEST_SECRET) {
            self.secrets.push(secret.to_owned());
        }
        self
    }

    /// `text` with its secrets masked.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        for mask in [url_password, keyword_password, sql_password] {
            out = mask(&out);
        }
        out
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`.
fn url_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The userinfo ends at the first `@` before any `/`, whitespace or quote.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => match tail[..at].find(':') {
                Some(colon) => {
                    out.push_str(&tail[..=colon]);
                    out.push_str(MASK);
                    rest = &tail[at..];
                }
                None => rest = tail,
            },
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// libpq's `password=secret` (or `password = 'sec ret'`) → `password=***`.
fn keyword_password(text: &str) -> String {
    masked_after(text, "password", |tail| {
        let tail_trimmed = tail.trim_start();
        let eq = tail_trimmed.strip_prefix('=')?;
        let value = eq.trim_start();
        let start = tail.len() - value.len();
        let len = match value.strip_prefix('\'') {
            Some(quoted) => quoted.find('\'').map_or(value.len(), |i| i + 2),
            None => value
                .find(|c: char| c.is_whitespace() || c == '&' || c == ';' || c == '"')
                .unwrap_or(value.len()),
        };
        (len > 0).then_some((start, start + len))
    })
}

/// SQL's `PASSWORD 'secret'` (`CREATE ROLE … PASSWORD '…'`) → `PASSWORD '***'`.
fn sql_password(text: &str) -> String {
    masked_after(text, "password", |tail| {
        let value = tail.trim_start();
        if value.len() == tail.len() {
            return None; // the keyword must be followed by whitespace
        }
        let quoted = value.strip_prefix('\'')?;
        let start = tail.len() - value.len() + 1;
        let len = quoted.find('\'').unwrap_or(quoted.len());
        (len > 0).then_some((start, start + len))
    })
}

/// Masks, after each case-insensitive occurrence of `keyword`, the byte range `value` finds in
/// the text that follows it (relative to the end of the keyword).
fn masked_after(
    text: &str,
    keyword: &str,
    value: impl Fn(&str) -> Option<(usize, usize)>,
) -> String {
    let lower = text.to_ascii_lowercase(); // same byte offsets as `text`
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(keyword) {
        let end = from + found + keyword.len();
        from = end;
        if let Some((start, stop)) = value(&text[end..]) {
            out.push_str(&text[copied..end + start]);
            out.push_str(MASK);
            copied = end + stop;
            from = copied;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_password_is_masked_wherever_it_appears() {
        let r = Redactor::new(Some(b"hunter2!"));
        assert_eq!(
            r.apply("invalid input syntax for type integer: \"hunter2!\""),
            "invalid input syntax for type integer: \"***\""
        );
        let short = Redactor::new(Some(b"a"));
        assert_eq!(short.apply("a table"), "a table");
    }

    #[test]
    fn url_passwords_are_masked() {
        let r = Redactor::default();
        assert_eq!(
            r.apply("see postgres://app:s3cr%40t@db:5432/app and http://x.org/a@b"),
            "see postgres://app:***@db:5432/app and http://x.org/a@b"
        );
        assert_eq!(
            r.apply("postgres://app@db/app"),
            "postgres://app@db/app",
            "no password, nothing to mask"
        );
    }

    #[test]
    fn keyword_and_sql_passwords_are_masked() {
        let r = Redactor::default();
        assert_eq!(
            r.apply("host=db password=s3cret user=app"),
            "host=db password=*** user=app"
        );
        assert_eq!(
            r.apply("host=db password = 'with space' user=app"),
            "host=db password = *** user=app"
        );
        assert_eq!(
            r.apply("ALTER ROLE app PASSWORD 'hunter2'"),
            "ALTER ROLE app PASSWORD '***'"
        );
        assert_eq!(
            r.apply("password authentication failed for user \"app\""),
            "password authentication failed for user \"app\""
        );
    }
}
