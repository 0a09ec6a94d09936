//! A small SQL lexer: it splits a query string into its statements (for the multi-statement
//! form `SELECT 1; SELECT 2`) and names each statement's command the way the server's command
//! tag would, because tokio-postgres reports only the affected-row count of a command tag.
//!
//! It knows PostgreSQL's quoting rules (`'…'` with `''`, `E'…'` with backslashes, `"…"`,
//! `$tag$…$tag$`, `--` and nested `/* */` comments) and nothing else of the grammar.

mod lexer;

use lexer::{Lexer, Token};

/// One statement of a query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, without the separating `;`.
    pub text: &'a str,
    /// The command word the server's tag starts with (`SELECT`, `INSERT`, `CREATE`, …).
    pub command: String,
}

impl Statement<'_> {
    /// Whether the server's command tag for this command ends in a row count (`SELECT 3`,
    /// `INSERT 0 3`); node-postgres reports `rowCount: null` for the others.
    pub fn has_row_count(&self) -> bool {
        has_row_count(&self.command)
    }

    /// Whether it is a `COPY` to or from the client (`STDIN`, `STDOUT`), whose data would flow
    /// through the connection outside the query protocol.
    pub fn copies_with_client(&self) -> bool {
        self.command == "COPY"
            && words(self.text)
                .any(|w| w.eq_ignore_ascii_case("STDIN") || w.eq_ignore_ascii_case("STDOUT"))
    }
}

/// Whether a command's tag carries a row count.
pub fn has_row_count(command: &str) -> bool {
    matches!(
        command,
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "MOVE"
            | "FETCH"
            | "COPY"
            // The tag of the prepared statement's command, which always counts its rows.
            | "EXECUTE"
    )
}

/// Whether a command starts, ends or marks a transaction, so a multi-statement string holding it
/// keeps its own transaction control.
pub fn controls_transaction(command: &str) -> bool {
    matches!(
        command,
        "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "PREPARE"
    )
}

/// Whether a command runs a procedure or a DO block, which may commit or roll back itself.
pub fn may_control_transaction(command: &str) -> bool {
    matches!(command, "CALL" | "DO")
}

/// The words of one statement in order, outside quotes and comments (`ROLLBACK`, `TO`, `s`).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    Lexer::new(text).filter_map(|(_, token)| match token {
        Token::Word(word) => Some(word),
        _ => None,
    })
}

/// Splits `sql` into its non-empty statements, each with its command.
pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let mut statements = Vec::new();
    let mut start = 0;
    // Reused for each statement; most fit without growing.
    let mut tokens: Vec<Token<'_>> = Vec::with_capacity(64);
    let mut depth = 0i32;
    let mut finish = |end: usize, tokens: &mut Vec<Token<'_>>, start: usize| {
        if !tokens.is_empty() {
            let text = sql[start..end].trim();
            statements.push(Statement {
                text,
                command: command_of(tokens),
            });
        }
        tokens.clear();
    };
    // The depth of `BEGIN ATOMIC … END` bodies (and CASE … END inside them) of a SQL-standard
    // function or procedure body, whose statements end in semicolons of their own.
    let mut body = 0i32;
    for (at, token) in Lexer::new(sql) {
        match token {
            Token::Semicolon if depth == 0 && body == 0 => {
                finish(at, &mut tokens, start);
                start = at + 1;
                continue;
            }
            Token::Open => depth += 1,
            Token::Close => depth -= 1,
            Token::Word(w) if w.eq_ignore_ascii_case("BEGIN") && creates_routine(&tokens) => {
                body += 1
            }
            Token::Word(w) if body > 0 && w.eq_ignore_ascii_case("CASE") => body += 1,
            Token::Word(w) if body > 0 && w.eq_ignore_ascii_case("END") => body -= 1,
            _ => {}
        }
        tokens.push(token);
    }
    finish(sql.len(), &mut tokens, start);
    statements
}

/// Whether a statement's tokens so far start `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
fn creates_routine(tokens: &[Token<'_>]) -> bool {
    let mut words = tokens.iter().filter_map(|t| match t {
        Token::Word(w) => Some(*w),
        _ => None,
    });
    let is = |w: Option<&str>, word: &str| w.is_some_and(|w| w.eq_ignore_ascii_case(word));
    if !is(words.next(), "CREATE") {
        return false;
    }
    let mut next = words.next();
    if is(next, "OR") {
        next = words.nth(1);
    }
    is(next, "FUNCTION") || is(next, "PROCEDURE")
}

/// Whether a statement of `sql` sets or resets a session setting that changes how the server
/// writes values as text: `TimeZone` (or `TIME ZONE`), `DateStyle`, `IntervalStyle`,
/// `extra_float_digits`, `bytea_output`, or every setting (`RESET ALL`).
pub fn changes_rendering(sql: &str) -> bool {
    split(sql).iter().any(|statement| {
        let mut words = words(statement.text).map(str::to_ascii_lowercase);
        if !matches!(words.next().as_deref(), Some("set" | "reset")) {
            return false;
        }
        let mut name = words.next();
        if matches!(name.as_deref(), Some("session" | "local")) {
            name = words.next();
        }
        matches!(
            name.as_deref(),
            Some("timezone" | "time" | "datestyle" | "intervalstyle" | "extra_float_digits")
                | Some("bytea_output" | "all")
        )
    })
}

/// Whether startup options (`-c TimeZone=UTC -c search_path=app`) set one of the settings
/// [`changes_rendering`] looks for.
pub fn startup_changes_rendering(options: &str) -> bool {
    let lower = options.to_ascii_lowercase();
    [
        "timezone",
        "datestyle",
        "intervalstyle",
        "extra_float_digits",
        "bytea_output",
    ]
    .iter()
    .any(|name| lower.contains(name))
}

/// The parameter placeholders of `sql` (`$1`, outside quotes and comments): each one's byte range
/// and number.
pub fn placeholders(sql: &str) -> impl Iterator<Item = (std::ops::Range<usize>, usize)> + '_ {
    Lexer::new(sql).filter_map(|(at, token)| match token {
        Token::Param(n) => {
            let len = 1 + sql[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            Some((at..at + len, n))
        }
        _ => None,
    })
}

/// Whether a statement is `CREATE … IF NOT EXISTS`, which the server may skip.
pub fn creates_if_not_exists(text: &str) -> bool {
    let first: Vec<String> = words(text).take(8).map(str::to_ascii_uppercase).collect();
    first.first().is_some_and(|w| w == "CREATE")
        && first.windows(3).any(|w| w == ["IF", "NOT", "EXISTS"])
}

/// The prepared statement an `EXECUTE name (…)` statement runs, named as the server folds it:
/// lowercased unless quoted.
pub fn executed_name(text: &str) -> Option<String> {
    let mut lexer = Lexer::new(text);
    match lexer.next()? {
        (_, Token::Word(w)) if w.eq_ignore_ascii_case("EXECUTE") => {}
        _ => return None,
    }
    match lexer.next()? {
        (_, Token::Word(name)) => Some(name.to_ascii_lowercase()),
        (at, Token::Other) if text[at..].starts_with('"') && lexer.pos > at + 1 => {
            Some(text[at + 1..lexer.pos - 1].replace("\"\"", "\""))
        }
        _ => None,
    }
}

/// The command a prepared statement runs, from its text as `pg_prepared_statements` holds it:
/// `PREPARE name [(types)] AS statement` for one prepared in SQL, the statement itself for one
/// prepared through the protocol.
pub fn prepared_command(text: &str) -> Option<String> {
    let mut lexer = Lexer::new(text);
    let prepares =
        matches!(lexer.next(), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("PREPARE"));
    if !prepares {
        return split(text).into_iter().next().map(|s| s.command);
    }
    let mut depth = 0i32;
    for (at, token) in lexer {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth -= 1,
            Token::Word(w) if depth == 0 && w.eq_ignore_ascii_case("AS") => {
                return split(&text[at + 2..]).into_iter().next().map(|s| s.command);
            }
            _ => {}
        }
    }
    None
}

/// Names the command of one statement's tokens as the server's command tag would.
fn command_of(tokens: &[Token<'_>]) -> String {
    let mut depth = 0i32;
    // (word, depth) pairs, in order.
    let mut words = tokens.iter().filter_map(move |t| {
        match t {
            Token::Open => depth += 1,
            Token::Close => depth -= 1,
            Token::Word(w) => return Some((*w, depth)),
            _ => {}
        }
        None
    });
    let Some((first, first_depth)) = words.next() else {
        return String::new();
    };
    // The later words outside the parentheses the first word is in, uppercased; only WITH and
    // CREATE look at them, so most statements uppercase one word.
    let mut top = words
        .filter(move |w| w.1 == first_depth)
        .map(|w| w.0.to_ascii_uppercase());
    let first = first.to_ascii_uppercase();
    let named = match first.as_str() {
        "SELECT" | "VALUES" | "TABLE" => "SELECT",
        // The main statement of a WITH is the first data-modifying or query keyword outside the
        // parenthesised CTE bodies.
        "WITH" => {
            return top
                .find_map(|w| match w.as_str() {
                    "SELECT" | "VALUES" | "TABLE" => Some("SELECT".into()),
                    "INSERT" | "UPDATE" | "DELETE" | "MERGE" => Some(w),
                    _ => None,
                })
                .unwrap_or_else(|| "SELECT".into())
        }
        "END" => "COMMIT",
        "ABORT" => "ROLLBACK",
        "ANALYSE" => "ANALYZE",
        // CREATE TABLE … AS and CREATE MATERIALIZED VIEW report `SELECT n`.
        "CREATE" => {
            let rest: Vec<String> = top.collect();
            let is_table = rest.iter().take_while(|w| *w != "AS").any(|w| w == "TABLE");
            let has = |word: &str| rest.iter().any(|w| w == word);
            let materialized = rest.first().is_some_and(|w| w == "MATERIALIZED");
            // … WITH NO DATA creates the relation empty and is tagged CREATE TABLE AS (or
            // CREATE MATERIALIZED VIEW), with no count.
            let no_data = rest.ends_with(&["WITH".into(), "NO".into(), "DATA".into()]);
            if !no_data && (materialized || (is_table && has("AS") && !has("OF"))) {
                "SELECT"
            } else {
                "CREATE"
            }
        }
        _ => return first,
    };
    named.into()
}

#[cfg(test)]
mod tests;
