//! What a COPY's text and its server errors say, read without the server: which way the data
//! flows, and the line of the data an error names.
use crate::error::{Error, Result, ServerError};
use crate::split::{split, words};

/// Which way a COPY's data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `COPY … FROM STDIN`: `copyFrom()`.
    In,
    /// `COPY … TO STDOUT`: `copyTo()`.
    Out,
}

impl Direction {
    fn call(self) -> &'static str {
        match self {
            Direction::In => "copyFrom()",
            Direction::Out => "copyTo()",
        }
    }

    fn form(self) -> &'static str {
        match self {
            Direction::In => "COPY … FROM STDIN",
            Direction::Out => "COPY … TO STDOUT",
        }
    }

    fn other(self) -> Direction {
        match self {
            Direction::In => Direction::Out,
            Direction::Out => Direction::In,
        }
    }

    /// Whether a statement's words hold this direction's pair (`FROM STDIN`, `TO STDOUT`).
    fn said_by(self, text: &str) -> bool {
        let (first, second) = match self {
            Direction::In => ("FROM", "STDIN"),
            Direction::Out => ("TO", "STDOUT"),
        };
        let mut previous = "";
        words(text).any(|word| {
            let pair = previous.eq_ignore_ascii_case(first) && word.eq_ignore_ascii_case(second);
            previous = word;
            pair
        })
    }
}

/// Refuses (`INVALID_ARGUMENT`) anything but one `COPY … FROM STDIN` statement for
/// [`Direction::In`], or one `COPY … TO STDOUT` for [`Direction::Out`]. Nothing of the text goes
/// into the message: it may hold secrets.
pub fn check(sql: &str, direction: Direction) -> Result<()> {
    let (call, form) = (direction.call(), direction.form());
    let statements = split(sql);
    let refused = |got: String| {
        Err(Error::argument(format!(
            "{call} runs one {form} statement (got {got})"
        )))
    };
    let [statement] = statements.as_slice() else {
        return refused(format!("{} statements", statements.len()));
    };
    if statement.command != "COPY" {
        return refused(format!("a {} statement", statement.command));
    }
    if direction.said_by(statement.text) {
        return Ok(());
    }
    if direction.other().said_by(statement.text) {
        let other = direction.other();
        return refused(format!("{}: use {}", other.form(), other.call()));
    }
    refused("a COPY to or from a server-side file or program: run that with query()".to_owned())
}

/// The line of the COPY's data that a server error names in its context (`COPY t, line 3,
/// column a: "abc"`), and that context line.
pub fn line_of(error: &ServerError) -> Option<(u64, &str)> {
    let context = error.r#where.as_deref()?;
    // The COPY's own line comes last, after any a trigger or function the row ran added.
    let copy = context.lines().rev().find(|l| l.starts_with("COPY "))?;
    let (_, after) = copy.split_once(", line ")?;
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    Some((after[..digits].parse().ok()?, copy))
}

/// A COPY's error as the caller sees it: a server error that names a line of the data says so
/// in its message, and in `copyLine`.
pub fn with_line(error: Error) -> Error {
    let Error::Server(mut server) = error else {
        return error;
    };
    if let Some((line, context)) = line_of(&server) {
        server.message = format!("{} ({context})", server.message);
        server.copy_line = Some(line);
    }
    Error::Server(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str, direction: Direction) -> String {
        check(sql, direction).unwrap_err().to_string()
    }

    #[test]
    fn each_call_takes_its_own_direction() {
        check("COPY t FROM STDIN", Direction::In).unwrap();
        check(
            "copy t (a, b) from stdin with (format csv, header)",
            Direction::In,
        )
        .unwrap();
        check("  COPY t TO STDOUT;", Direction::Out).unwrap();
        check(
            "COPY (SELECT 1 FROM s) TO STDOUT (FORMAT binary)",
            Direction::Out,
        )
        .unwrap();
        assert!(refusal("COPY t TO STDOUT", Direction::In).contains("use copyTo()"));
        assert!(refusal("COPY t FROM STDIN", Direction::Out).contains("use copyFrom()"));
    }

    #[test]
    fn anything_else_is_refused_without_its_text() {
        assert_eq!(
            refusal("SELECT 'secret'", Direction::In),
            "copyFrom() runs one COPY … FROM STDIN statement (got a SELECT statement)"
        );
        assert!(refusal("COPY t FROM STDIN; SELECT 1", Direction::In).contains("2 statements"));
        assert!(refusal("", Direction::Out).contains("0 statements"));
        assert!(refusal("COPY t FROM '/tmp/x'", Direction::In).contains("server-side file"));
        // Quoted, STDIN is a file name, not the client.
        assert!(refusal("COPY t FROM 'STDIN'", Direction::In).contains("server-side file"));
    }

    fn server(r#where: Option<&str>) -> ServerError {
        ServerError {
            code: "22P02".into(),
            message: "invalid input syntax for type integer: \"abc\"".into(),
            r#where: r#where.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn the_line_comes_from_the_copy_context() {
        let e = server(Some("COPY t, line 3, column a: \"abc\""));
        assert_eq!(line_of(&e), Some((3, "COPY t, line 3, column a: \"abc\"")));
        let e = server(Some("COPY t, line 1000000"));
        assert_eq!(line_of(&e).map(|l| l.0), Some(1_000_000));
        // A trigger's context comes first.
        let e = server(Some(
            "PL/pgSQL function f() line 3 at RAISE\nCOPY t, line 12: \"x\"",
        ));
        assert_eq!(line_of(&e).map(|l| l.0), Some(12));
        assert_eq!(line_of(&server(None)), None);
        assert_eq!(line_of(&server(Some("SQL function \"f\""))), None);
    }

    #[test]
    fn the_message_names_the_line() {
        let e = with_line(Error::Server(Box::new(server(Some(
            "COPY t, line 3, column a: \"abc\"",
        )))));
        let Error::Server(s) = e else { panic!() };
        assert_eq!(
            s.message,
            "invalid input syntax for type integer: \"abc\" (COPY t, line 3, column a: \"abc\")"
        );
        assert_eq!(s.copy_line, Some(3));
        assert_eq!(with_line(Error::ClientReleased), Error::ClientReleased);
    }
}
