//! Running one query string on one connection: prepared (and cached) or transient statements,
//! the multi-statement form, and the collection of rows into columns.
use crate::convert::ColumnBuilder;
use crate::error::{Error, Result};
use crate::params::{check_count, Param};
use crate::pool::Conn;
use crate::result::{Field, ResultSet};
use crate::split::{controls_transaction, has_row_count, split, Statement as Parsed};
use crate::statements::Prepared;
use futures_util::{pin_mut, StreamExt};
use std::sync::Arc;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Statement;

/// How queries run on a connection.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// Keep prepared statements per connection (`statementCache`).
    pub statement_cache: bool,
    /// Type OIDs whose values JS parses itself from text (the `types` option).
    pub text_oids: Vec<u32>,
    /// The connection may be inside a transaction block: a multi-statement string then runs in
    /// it rather than in a transaction of its own, whose COMMIT would end the caller's.
    pub in_transaction: bool,
}

/// Takes the rows of a long result before its statement ends, so that JS turns them into values
/// while the server still sends the rest (`delivery::Early`).
pub trait EarlyRows: Sync {
    /// Hands over the next rows of the query's one result: a `ResultSet` with its fields and
    /// columns, and neither command nor row count (those come with the rest, at the end).
    fn send(&self, rows: ResultSet);

    /// Whether any rows went: the query has run on the server then, and may not run again.
    fn sent(&self) -> bool;
}

/// A result's rows go early once the values gathered since the last ones pass this many bytes
/// as the server sent them. Measured on the benchmark's W3 (10,000 rows, 1.5 MB), mean rows/s
/// over 6 to 12 runs each: none early 445k; 16 KiB 598k; 32 KiB 594k; 64 KiB 667k; 128 KiB 624k;
/// 256 KiB 497k to 541k; 512 KiB 452k. With larger chunks more runs fell into a mode where V8
/// made a full collection every few queries (seen with `--trace-gc`).
const EARLY_BYTES: usize = 64 << 10;

/// A column value exactly as the server sent it.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Runs `sql` with `params` on `conn`. A query without values that holds several statements
/// resolves to one result per statement, all in one implicit transaction as the server's simple
/// protocol runs them; any other query resolves to one result, whose rows may go to `early` in
/// part before it ends.
pub async fn execute(
    conn: &Conn,
    sql: &str,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
) -> Result<Vec<ResultSet>> {
    check_count(params)?;
    // A query this connection ran before: one statement, command known, nothing to lex.
    if options.statement_cache {
        if let Some(prepared) = conn.statements.get(sql) {
            return Ok(vec![
                execute_cached(conn, sql, prepared, params, options, early).await?,
            ]);
        }
    }
    // The paths below run once per statement and connection (or for the rarer forms): boxed,
    // so that the cached path's future, part of every query's, stays small.
    Box::pin(execute_uncached(conn, sql, params, options, early)).await
}

/// Runs a query string whose statement is not in the connection's cache.
async fn execute_uncached(
    conn: &Conn,
    sql: &str,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
) -> Result<Vec<ResultSet>> {
    let statements = split(sql);
    if params.is_empty() && statements.len() > 1 {
        return execute_many(conn, &statements, options).await;
    }
    let Some(first) = statements.first() else {
        // An empty query: the server answers EmptyQueryResponse, node-postgres an empty result.
        return Ok(vec![ResultSet {
            command: None,
            row_count: None,
            fields: vec![],
            columns: vec![],
            rows: 0,
        }]);
    };
    if !options.statement_cache {
        // Prepared, run, and closed again when `statement` drops: no named statement stays.
        let statement = conn.client().prepare(sql).await?;
        return Ok(vec![
            collect(conn, &statement, &first.command, params, options, early).await?,
        ]);
    }
    let prepared = prepare(conn, sql, first.command.as_str().into()).await?;
    Ok(vec![
        execute_cached(conn, sql, prepared, params, options, early).await?,
    ])
}

/// Prepares `sql` and keeps it in the connection's cache.
async fn prepare(conn: &Conn, sql: &str, command: Arc<str>) -> Result<Prepared> {
    let statement = conn.client().prepare(sql).await?;
    let prepared = Prepared { statement, command };
    conn.statements.insert(sql, prepared.clone());
    Ok(prepared)
}

/// Runs several statements as one unit: all of them or none, like a simple-protocol query.
async fn execute_many(
    conn: &Conn,
    statements: &[Parsed<'_>],
    options: &QueryOptions,
) -> Result<Vec<ResultSet>> {
    // A string that manages its own transaction keeps that control.
    let own_transaction =
        !options.in_transaction && !statements.iter().any(|s| controls_transaction(&s.command));
    if own_transaction {
        conn.client().batch_execute("BEGIN").await?;
    }
    let mut results = Vec::with_capacity(statements.len());
    for statement in statements {
        let prepared = conn.client().prepare(statement.text).await;
        let outcome = match prepared {
            // One result of several: its rows go with the others, at the end.
            Ok(prepared) => collect(conn, &prepared, &statement.command, &[], options, None).await,
            Err(e) => Err(e.into()),
        };
        match outcome {
            Ok(result) => results.push(result),
            Err(e) => {
                if own_transaction {
                    // The statement's error is what the caller needs; a failed ROLLBACK means the
                    // connection is broken, which the pool sees when it next checks it.
                    let _ = conn.client().batch_execute("ROLLBACK").await;
                }
                return Err(e);
            }
        }
    }
    if own_transaction {
        conn.client().batch_execute("COMMIT").await?;
    }
    Ok(results)
}

/// Whether the server rejected a cached statement because its tables changed under it.
fn is_stale(e: &Error) -> bool {
    matches!(e, Error::Server(s) if (s.code == "0A000" && s.message.contains("cached plan"))
        || s.code == "26000")
}

/// Runs a cached statement; one the server invalidated (its tables changed) is prepared again.
async fn execute_cached(
    conn: &Conn,
    sql: &str,
    prepared: Prepared,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
) -> Result<ResultSet> {
    let outcome = collect(
        conn,
        &prepared.statement,
        &prepared.command,
        params,
        options,
        early,
    )
    .await;
    match outcome {
        Err(e) if is_stale(&e) => {
            conn.statements.remove(sql);
            let again = prepare(conn, sql, prepared.command).await?;
            collect(
                conn,
                &again.statement,
                &again.command,
                params,
                options,
                early,
            )
            .await
        }
        outcome => outcome,
    }
}

/// Executes a prepared statement and gathers its rows into columns; a long result's rows go to
/// `early` each time they pass [`EARLY_BYTES`]. Only for a command whose tag counts its rows: the
/// log reports that count, and the result keeps only the last rows.
async fn collect(
    conn: &Conn,
    statement: &Statement,
    command: &str,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
) -> Result<ResultSet> {
    let expected = statement.params().len();
    if params.len() != expected {
        return Err(Error::argument(format!(
            "the query has {expected} parameter{} but {} value{} given: pass one value for each \
             $n placeholder",
            if expected == 1 { "" } else { "s" },
            params.len(),
            if params.len() == 1 { " was" } else { "s were" },
        )));
    }
    let columns = statement.columns();
    let builders = || -> Vec<ColumnBuilder> {
        columns
            .iter()
            .map(|c| ColumnBuilder::new(c.type_(), options.text_oids.contains(&c.type_().oid())))
            .collect()
    };
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field {
            name: c.name().to_owned(),
            table_id: c.table_oid().unwrap_or(0),
            column_id: c.column_id().unwrap_or(0),
            data_type_id: c.type_().oid(),
            data_type_size: crate::convert::type_size(c.type_()),
            data_type_modifier: c.type_modifier(),
        })
        .collect();
    let early = early.filter(|_| has_row_count(command));
    let mut kept = builders();
    let stream = conn.client().query_raw(statement, params.iter()).await?;
    pin_mut!(stream);
    let (mut rows, mut bytes) = (0usize, 0usize);
    // A value that fails to decode (or to fit in JS) does not stop the stream: the rest of the
    // response is read so the connection stays in step with the server, and the first such error
    // is reported. The values gathered so far are dropped at once: they may be large.
    let mut decode_error = None;
    while let Some(row) = stream.next().await {
        let row = row?;
        if decode_error.is_some() {
            continue;
        }
        rows += 1;
        for (i, builder) in kept.iter_mut().enumerate() {
            let pushed = row
                .try_get::<_, Raw<'_>>(i)
                .map_err(Error::from)
                .and_then(|raw| {
                    // The value and its length word.
                    bytes += 4 + raw.0.map_or(0, <[u8]>::len);
                    builder.push(raw.0)
                });
            if let Err(e) = pushed {
                decode_error = Some(e);
                kept = Vec::new();
                break;
            }
        }
        if let Some(early) = early.filter(|_| bytes >= EARLY_BYTES && decode_error.is_none()) {
            let columns = std::mem::replace(&mut kept, builders());
            early.send(ResultSet {
                command: None,
                row_count: None,
                fields: fields.clone(),
                columns: columns.into_iter().map(ColumnBuilder::finish).collect(),
                rows,
            });
            (rows, bytes) = (0, 0);
        }
    }
    if let Some(e) = decode_error {
        return Err(e);
    }
    Ok(ResultSet {
        command: Some(command.to_owned()),
        row_count: if has_row_count(command) {
            stream.rows_affected()
        } else {
            None
        },
        fields,
        columns: kept.into_iter().map(ColumnBuilder::finish).collect(),
        rows,
    })
}
