//! A small SQL lexer: it splits a query string into its statements (for the multi-statement
//! form `SELECT 1; SELECT 2`) and names each statement's command the way the server's command
//! tag would, because tokio-postgres reports only the affected-row count of a command tag.
//!
//! It knows PostgreSQL's quoting rules (`'…'` with `''`, `E'…'` with backslashes, `"…"`,
//! `$tag$…$tag$`, `--` and nested `/* */` comments) and nothing else of the grammar.

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

/// A lexical token that matters for splitting and naming: words and parentheses at their depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    /// A parameter placeholder, `$1`.
    Param(usize),
    Open,
    Close,
    Semicolon,
    Other,
}

/// Iterates over the tokens of `sql` with their byte offsets, skipping quoted text and comments.
struct Lexer<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(sql: &'a str) -> Self {
        Lexer { sql, pos: 0 }
    }

    /// Skips a quoted section that starts at `self.pos` with `quote`; `backslashes` for E'' strings.
    fn skip_quoted(&mut self, quote: u8, backslashes: bool) {
        let b = self.sql.as_bytes();
        self.pos += 1;
        while self.pos < b.len() {
            let c = b[self.pos];
            if backslashes && c == b'\\' {
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if c == quote {
                if self.pos < b.len() && b[self.pos] == quote {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
    }

    /// Skips a `$tag$ … $tag$` string if one starts at `self.pos`; returns whether it did.
    fn skip_dollar(&mut self) -> bool {
        let rest = &self.sql[self.pos..];
        let body = &rest[1..];
        let tag_len = body
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if !body[tag_len..].starts_with('$')
            || body[..tag_len].starts_with(|c: char| c.is_ascii_digit())
        {
            return false;
        }
        let delimiter = &rest[..tag_len + 2];
        match rest[delimiter.len()..].find(delimiter) {
            Some(end) => self.pos += delimiter.len() * 2 + end,
            None => self.pos = self.sql.len(),
        }
        true
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = (usize, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.sql.as_bytes();
        while self.pos < b.len() {
            let start = self.pos;
            let c = b[start];
            match c {
                b if b.is_ascii_whitespace() => self.pos += 1,
                b'-' if b.get(start + 1) == Some(&b'-') => {
                    self.pos = self.sql[start..]
                        .find('\n')
                        .map_or(b.len(), |n| start + n + 1);
                }
                b'/' if b.get(start + 1) == Some(&b'*') => {
                    let mut depth = 0usize;
                    while self.pos < b.len() {
                        if b[self.pos..].starts_with(b"/*") {
                            depth += 1;
                            self.pos += 2;
                        } else if b[self.pos..].starts_with(b"*/") {
                            depth -= 1;
                            self.pos += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                b'\'' => {
                    self.skip_quoted(b'\'', false);
                    return Some((start, Token::Other));
                }
                b'"' => {
                    self.skip_quoted(b'"', false);
                    return Some((start, Token::Other));
                }
                b'$' => {
                    let digits = b[start + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    if digits > 0 {
                        self.pos = start + 1 + digits;
                        let n = self.sql[start + 1..self.pos].parse().unwrap_or(usize::MAX);
                        return Some((start, Token::Param(n)));
                    }
                    if !self.skip_dollar() {
                        self.pos += 1;
                    }
                    return Some((start, Token::Other));
                }
                b'(' => {
                    self.pos += 1;
                    return Some((start, Token::Open));
                }
                b')' => {
                    self.pos += 1;
                    return Some((start, Token::Close));
                }
                b';' => {
                    self.pos += 1;
                    return Some((start, Token::Semicolon));
                }
                c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                    let len = self.sql[start..]
                        .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
                        .unwrap_or(b.len() - start);
                    self.pos = start + len;
                    // E'…' (and e'…') strings take backslash escapes.
                    if len == 1 && (c == b'E' || c == b'e') && b.get(self.pos) == Some(&b'\'') {
                        self.skip_quoted(b'\'', true);
                        return Some((start, Token::Other));
                    }
                    return Some((start, Token::Word(&self.sql[start..start + len])));
                }
                _ => {
                    let len = self.sql[start..].chars().next().map_or(1, char::len_utf8);
                    self.pos += len;
                    return Some((start, Token::Other));
                }
            }
        }
        None
    }
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
mod tests {
    use super::*;

    fn commands(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.command).collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let sql = "SELECT 'a;b', \"c;d\", $x$;$x$, E'\\';' ; -- c;\n/* x; /* y; */ */ INSERT INTO t VALUES (1);";
        let parts = split(sql);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0].command, "SELECT");
        assert_eq!(parts[1].command, "INSERT");
        assert_eq!(
            parts[1].text,
            "-- c;\n/* x; /* y; */ */ INSERT INTO t VALUES (1)"
        );
    }

    #[test]
    fn empty_statements_are_dropped() {
        assert!(split("  ; ;-- only a comment\n").is_empty());
        assert_eq!(commands("SELECT 1;;SELECT 2;"), ["SELECT", "SELECT"]);
    }

    #[test]
    fn names_commands_as_the_server_tags_them() {
        assert_eq!(commands("(select 1)"), ["SELECT"]);
        assert_eq!(commands("values (1)"), ["SELECT"]);
        assert_eq!(commands("TABLE t"), ["SELECT"]);
        assert_eq!(
            commands("with x as (select 1) insert into t select * from x"),
            ["INSERT"]
        );
        assert_eq!(
            commands("WITH RECURSIVE t(n) AS (VALUES (1)) SELECT n FROM t"),
            ["SELECT"]
        );
        assert_eq!(commands("end"), ["COMMIT"]);
        assert_eq!(commands("abort"), ["ROLLBACK"]);
        assert_eq!(commands("create table t (a int)"), ["CREATE"]);
        assert_eq!(commands("create temp table t as select 1"), ["SELECT"]);
        assert_eq!(
            commands("create materialized view v as select 1"),
            ["SELECT"]
        );
        assert_eq!(commands("create view v as select 1"), ["CREATE"]);
        assert_eq!(commands("set TimeZone = 'UTC'"), ["SET"]);
        assert_eq!(commands("do $$ begin perform 1; end $$"), ["DO"]);
        assert_eq!(commands("begin"), ["BEGIN"]);
    }

    #[test]
    fn words_skip_quotes_and_comments() {
        let words: Vec<&str> = words("/* to */ ROLLBACK -- to\n PREPARED 'to'").collect();
        assert_eq!(words, ["ROLLBACK", "PREPARED"]);
    }

    #[test]
    fn dollar_quotes_need_a_valid_tag() {
        // `$1` is a parameter, not a dollar quote.
        assert_eq!(split("SELECT $1; SELECT $2").len(), 2);
        assert_eq!(split("SELECT $a$ ; $a$").len(), 1);
    }

    #[test]
    fn sql_standard_routine_bodies_are_one_statement() {
        let sql = "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC \
                   SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END; SELECT x; END; SELECT f(1)";
        assert_eq!(commands(sql), ["CREATE", "SELECT"]);
        let procedure = "create procedure p() begin atomic insert into t values (1); end";
        assert_eq!(commands(procedure), ["CREATE"]);
        // BEGIN elsewhere is a transaction's.
        assert_eq!(
            commands("BEGIN; SELECT 1; END"),
            ["BEGIN", "SELECT", "COMMIT"]
        );
    }

    #[test]
    fn placeholders_outside_quotes() {
        let sql = "SELECT $1, '$2', $$ $3 $$, \"$4\" -- $5\n, $10::int";
        let found: Vec<_> = placeholders(sql).map(|(r, n)| (&sql[r], n)).collect();
        assert_eq!(found, [("$1", 1), ("$10", 10)]);
    }

    #[test]
    fn settings_that_change_how_values_are_written() {
        assert!(changes_rendering("SET TimeZone = 'UTC'"));
        assert!(changes_rendering("set local time zone 'Europe/Berlin'"));
        assert!(changes_rendering("SELECT 1; RESET ALL"));
        assert!(changes_rendering("SET SESSION DateStyle TO 'SQL, DMY'"));
        assert!(!changes_rendering("SET search_path TO app"));
        assert!(!changes_rendering("SELECT 'SET TimeZone'"));
        assert!(startup_changes_rendering(
            "-c search_path=a -c TimeZone=Asia/Kolkata"
        ));
        assert!(!startup_changes_rendering("-c statement_timeout=5000"));
    }

    #[test]
    fn copy_with_the_client() {
        assert!(split("COPY (SELECT 1) TO STDOUT")[0].copies_with_client());
        assert!(split("copy t from stdin with (format csv)")[0].copies_with_client());
        assert!(!split("COPY t TO '/tmp/x'")[0].copies_with_client());
        assert!(!split("SELECT 'STDOUT'")[0].copies_with_client());
    }

    #[test]
    fn no_data_creates_without_a_count() {
        assert_eq!(
            commands("create table t as select 1 with no data"),
            ["CREATE"]
        );
        assert_eq!(
            commands("CREATE MATERIALIZED VIEW v AS SELECT 1 WITH NO DATA"),
            ["CREATE"]
        );
        assert_eq!(commands("create table t as select 1 with data"), ["SELECT"]);
    }

    #[test]
    fn row_counts_follow_the_command() {
        assert!(has_row_count("SELECT"));
        assert!(has_row_count("INSERT"));
        assert!(!has_row_count("CREATE"));
        assert!(!has_row_count("SET"));
    }
}
