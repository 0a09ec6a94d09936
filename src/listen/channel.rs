//! Channel names: which ones the server can listen on as given, and how they are written into
//! `LISTEN` and `UNLISTEN`.
use crate::error::{Error, Result};

/// The longest channel name, in bytes: PostgreSQL's identifiers are at most `NAMEDATALEN - 1`
/// bytes (63 in every build we know of). `LISTEN` cuts a longer name (with a notice), and then
/// notifications arrive under the cut name, which no callback listens to; `pg_notify` refuses
/// one. So a longer name is refused before it reaches the server.
pub const MAX_BYTES: usize = 63;

/// Refuses a channel name the server cannot listen on as given: empty, holding a NUL, or longer
/// than [`MAX_BYTES`] (`INVALID_ARGUMENT`).
pub fn check(channel: &str) -> Result<()> {
    if channel.is_empty() {
        return Err(Error::argument(
            "`channel` must not be empty: name the channel to listen or notify on",
        ));
    }
    if channel.contains('\0') {
        return Err(Error::argument(
            "`channel` must not contain a NUL character (\\0): PostgreSQL cannot hold one in a name",
        ));
    }
    if channel.len() > MAX_BYTES {
        return Err(Error::argument(format!(
            "`channel` must be at most {MAX_BYTES} bytes (got {}): PostgreSQL cuts longer \
             names in LISTEN and refuses them in pg_notify; use a shorter name",
            channel.len()
        )));
    }
    Ok(())
}

/// `channel` as a quoted identifier (`"` doubled), so that case, spaces and quotes are kept as
/// given: the server then sends notifications under exactly this name.
pub fn quote(channel: &str) -> String {
    format!("\"{}\"", channel.replace('"', "\"\""))
}

/// One simple-query string that listens on every channel of `channels`, in one round trip.
pub fn listen_all<'a>(channels: impl IntoIterator<Item = &'a String>) -> String {
    let statements: Vec<String> = channels
        .into_iter()
        .map(|channel| format!("LISTEN {};", quote(channel)))
        .collect();
    statements.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_as_identifiers() {
        assert_eq!(quote("jobs"), "\"jobs\"");
        assert_eq!(quote("Mixed Case"), "\"Mixed Case\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote("\"; DROP TABLE t; --"), "\"\"\"; DROP TABLE t; --\"");
        assert_eq!(quote("é ü"), "\"é ü\"");
    }

    #[test]
    fn names_the_server_cannot_take_are_refused() {
        assert!(check("jobs").is_ok());
        assert!(check(&"x".repeat(MAX_BYTES)).is_ok());
        for bad in ["", "a\0b", &"x".repeat(MAX_BYTES + 1), &"é".repeat(32)] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad:?}");
            assert!(e.to_string().contains("`channel`"), "{e}");
        }
    }

    #[test]
    fn every_channel_goes_out_in_one_string() {
        let channels = ["a".to_owned(), "B c".to_owned()];
        assert_eq!(listen_all(&channels), "LISTEN \"a\"; LISTEN \"B c\";");
        assert_eq!(listen_all(&[]), "");
    }
}
