//! Query strings run through the simple query protocol, whose values are the server's own text:
//!
//! - a string of several statements, which then runs exactly as the server runs it for
//!   node-postgres: in one implicit transaction, nothing at all when any statement has a syntax
//!   error, its own `BEGIN`, `COMMIT` and `ROLLBACK` acting as the server makes them act, and an
//!   error's `position` counted from the start of the string;
//! - a single statement with a column whose text only the server can give
//!   (`convert::text::server_renders`: `reg*` names, `aclitem`, `anyarray`, …), its values
//!   written into the statement as literals.
//!
//! The simple protocol names a result's columns but tokio-postgres drops their types, so the
//! types come from the prepared statement: the one already prepared for a single statement, and
//! for a string of several, each row-returning statement prepared once the string has run (a
//! statement whose objects the string dropped again, or whose columns differ, keeps its values
//! as text); behind PgBouncer, described in a transaction of their own (`pinned`).
use crate::connection::Conn;
use crate::convert::ColumnBuilder;
use crate::error::{Error, Result};
use crate::params::{check_given, Param};
use crate::pinned::{self, Block};
use crate::result::{Field, ResultSet};
use crate::split::{controls_transaction, has_row_count, placeholders, Statement as Parsed};
use crate::statements::Shape;
use futures_util::future::join_all;
use futures_util::{pin_mut, StreamExt};
use std::fmt::Write;
use std::sync::Arc;
use tokio_postgres::{SimpleColumn, SimpleQueryMessage, SimpleQueryRow};

/// One statement's result as the simple protocol returned it.
#[derive(Default)]
struct Returned {
    /// The names of its columns, when it returns rows.
    names: Option<Arc<[SimpleColumn]>>,
    rows: Vec<SimpleQueryRow>,
    /// The count of its command tag.
    count: u64,
}

/// Runs a string of several statements; `statements` are its statements as `split` found them,
/// `in_transaction` whether the connection may be inside a transaction block, `text_oids` the
/// types JS parses itself (the `types` option).
pub async fn run_many(
    conn: &Conn,
    sql: &str,
    statements: &[Parsed<'_>],
    in_transaction: bool,
    pgbouncer: bool,
    text_oids: &[u32],
) -> Result<Vec<ResultSet>> {
    let returned = run(conn, sql).await?;
    let texts: Vec<&str> = returned
        .iter()
        .zip(statements)
        .filter(|(r, _)| r.names.is_some())
        .map(|(_, s)| s.text)
        .collect();
    let may_be_in_block =
        in_transaction || statements.iter().any(|s| controls_transaction(&s.command));
    let described = if pgbouncer {
        let block = if may_be_in_block {
            Block::Unknown
        } else {
            Block::Outside
        };
        match pinned::describe(conn, &texts, block, true).await {
            Ok(shapes) => shapes.into_iter().map(Result::ok).collect(),
            Err(_) => texts.iter().map(|_| None).collect(),
        }
    } else {
        describe(conn, &texts, may_be_in_block).await
    };
    let mut described = described.into_iter();
    returned
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let columns = if r.names.is_some() {
                described.next().flatten()
            } else {
                None
            };
            // The server's results follow the statements; one that `split` saw differently
            // (it should not) gets no command rather than another's.
            let command = statements.get(i).map_or("", |s| s.command.as_str());
            build(r, command, columns.as_ref(), text_oids)
        })
        .collect()
}

/// Runs one prepared statement through the simple protocol, with `params` written into `sql`.
pub async fn run_inlined(
    conn: &Conn,
    sql: &str,
    shape: &Shape,
    command: &str,
    params: &[Param],
    text_oids: &[u32],
) -> Result<ResultSet> {
    check_given(shape.params, params)?;
    let text = inline(sql, params)?;
    let returned = run(conn, &text).await?.pop().unwrap_or_default();
    build(returned, command, Some(shape), text_oids)
}

/// Sends `sql` as one simple query and gathers each statement's result.
async fn run(conn: &Conn, sql: &str) -> Result<Vec<Returned>> {
    let stream = conn.client().simple_query_raw(sql).await?;
    pin_mut!(stream);
    let mut results = Vec::new();
    let mut current = Returned::default();
    while let Some(message) = stream.next().await {
        match message? {
            SimpleQueryMessage::RowDescription(names) => current.names = Some(names),
            SimpleQueryMessage::Row(row) => current.rows.push(row),
            SimpleQueryMessage::CommandComplete(count) => {
                current.count = count;
                results.push(std::mem::take(&mut current));
            }
            _ => {}
        }
    }
    Ok(results)
}

/// Prepares each of `texts` to learn its result's column types; `None` for one that fails. On a
/// connection that may be inside a transaction block the statements are prepared under a
/// savepoint, so that one that fails does not abort the block; in an aborted block nothing is.
async fn describe(conn: &Conn, texts: &[&str], may_be_in_block: bool) -> Vec<Option<Shape>> {
    const SAVEPOINT: &str = "pg_rust_pool_describe";
    if texts.is_empty() {
        return Vec::new();
    }
    let client = conn.client();
    let guarded = if may_be_in_block {
        match client
            .batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
            .await
        {
            Ok(()) => true,
            // 25P01: no transaction block, so a failure aborts nothing.
            Err(e) if e.code().is_some_and(|c| c.code() == "25P01") => false,
            Err(_) => return texts.iter().map(|_| None).collect(),
        }
    } else {
        false
    };
    let prepared: Vec<Option<Shape>> = join_all(texts.iter().map(|t| client.prepare(t)))
        .await
        .into_iter()
        .map(|prepared| prepared.ok().map(|s| Shape::of(&s)))
        .collect();
    if guarded {
        let end = if prepared.iter().all(Option::is_some) {
            format!("RELEASE SAVEPOINT {SAVEPOINT}")
        } else {
            format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}")
        };
        // A failure here leaves the block as the caller's next statement will find it.
        let _ = client.batch_execute(&end).await;
    }
    prepared
}

/// One result from what the simple protocol returned; `columns` are the statement's as prepared,
/// used when they match the names returned.
fn build(
    returned: Returned,
    command: &str,
    shape: Option<&Shape>,
    text_oids: &[u32],
) -> Result<ResultSet> {
    let names = returned.names.as_deref().unwrap_or(&[]);
    let shape = shape.filter(|shape| {
        shape.fields.len() == names.len()
            && shape
                .fields
                .iter()
                .zip(names)
                .all(|(f, n)| f.name == n.name())
    });
    let (fields, mut builders): (Vec<Field>, Vec<ColumnBuilder>) = match shape {
        Some(shape) => shape
            .fields
            .iter()
            .zip(&shape.types)
            .map(|(field, ty)| {
                let user = text_oids.contains(&ty.oid());
                (field.clone(), ColumnBuilder::server_text(ty, user))
            })
            .unzip(),
        None => names
            .iter()
            .map(|n| {
                let text = tokio_postgres::types::Type::TEXT;
                let user = text_oids.contains(&text.oid());
                (
                    Field::text(n.name()),
                    ColumnBuilder::server_text(&text, user),
                )
            })
            .unzip(),
    };
    for row in &returned.rows {
        for (i, builder) in builders.iter_mut().enumerate() {
            builder.push_text(row.try_get(i)?)?;
        }
    }
    Ok(ResultSet {
        command: Some(command.to_owned()),
        row_count: has_row_count(command).then_some(returned.count),
        fields,
        columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
        rows: returned.rows.len(),
    })
}

/// `sql` with each `$n` replaced by `params[n - 1]` as a literal of unknown type, which the server
/// types from its context as it types a parameter sent without one.
fn inline(sql: &str, params: &[Param]) -> Result<String> {
    let mut out = String::with_capacity(sql.len() + 16 * params.len());
    let mut last = 0;
    for (range, n) in placeholders(sql) {
        let Some(param) = n.checked_sub(1).and_then(|i| params.get(i)) else {
            // The server prepared the statement, so every placeholder has its value.
            return Err(Error::Internal(format!("no value for ${n}")));
        };
        out.push_str(&sql[last..range.start]);
        out.push(' ');
        literal(param, &mut out)?;
        out.push(' ');
        last = range.end;
    }
    out.push_str(&sql[last..]);
    Ok(out)
}

/// Writes `param` as a SQL literal that means the same whatever `standard_conforming_strings` is.
fn literal(param: &Param, out: &mut String) -> Result<()> {
    match param {
        Param::Null => out.push_str("NULL"),
        Param::Text(text) => {
            if text.contains('\0') {
                // What the server answers for a parameter holding one.
                return Err(Error::argument(
                    "a value holds a NUL character (\\0), which PostgreSQL text cannot hold: \
                     remove it, or send the value as a Buffer to a bytea column",
                ));
            }
            let escape = text.contains('\\');
            out.push_str(if escape { "E'" } else { "'" });
            for c in text.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        Param::Binary(bytes) => {
            out.push_str("E'\\\\x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\'');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_literals_outside_quotes() {
        let params = [
            Param::Text("it's".into()),
            Param::Null,
            Param::Text("a\\b".into()),
            Param::Binary(vec![0, 255]),
        ];
        let sql = "SELECT $1, '$2', $2 -- $3\n, $3, $4";
        assert_eq!(
            inline(sql, &params).unwrap(),
            "SELECT  'it''s' , '$2',  NULL  -- $3\n,  E'a\\\\b' ,  E'\\\\x00ff' "
        );
    }

    #[test]
    fn a_nul_character_is_an_argument_error() {
        let err = inline("SELECT $1", &[Param::Text("a\0b".into())]).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
    }
}
