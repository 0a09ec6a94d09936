//! Running one query string on one connection: prepared (and cached) or transient statements,
//! the multi-statement form, and the collection of rows into columns.
use crate::connection::Conn;
use crate::error::{Error, Result};
use crate::gather::Gather;
use crate::params::{check_count, check_given, Param};
use crate::pinned::{self, Block};
use crate::result::ResultSet;
use crate::simple;
use crate::split::{
    changes_rendering, creates_if_not_exists, executed_name, has_row_count, prepared_command, split,
};
use crate::statements::Prepared;
use futures_util::{pin_mut, StreamExt};
use std::sync::Arc;
use tokio_postgres::types::Type;

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
    /// Whether `in_transaction` is known for sure: not while the answer to a BEGIN sent with the
    /// query is still to come, nor once the client lost track (see `txstate::TxState::Unknown`).
    pub transaction_certain: bool,
    /// PgBouncer's transaction mode (`pgbouncer`): statements run unnamed, each SQL text
    /// described once per connection (`pinned`).
    pub pgbouncer: bool,
}

impl QueryOptions {
    /// Where the connection stands with respect to a transaction block, as far as known.
    fn block(&self) -> Block {
        match (self.in_transaction, self.transaction_certain) {
            (false, _) => Block::Outside,
            (true, true) => Block::Inside,
            (true, false) => Block::Unknown,
        }
    }
}

/// The type a parameter is sent with behind PgBouncer (and to a stream's `DECLARE`): OID 0,
/// which leaves it to the server to infer, as node-postgres leaves every parameter.
pub(crate) fn unspecified() -> Type {
    static UNSPECIFIED: std::sync::LazyLock<Type> = std::sync::LazyLock::new(|| {
        Type::new(
            "unspecified".into(),
            0,
            tokio_postgres::types::Kind::Pseudo,
            "pg_catalog".into(),
        )
    });
    UNSPECIFIED.clone()
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
    if conn.poisoned() {
        return Err(Error::ConnectionClosed(
            "the connection was closed: describing a statement behind PgBouncer failed half way, \
             and what it left on the server connection goes with it; run the transaction again"
                .into(),
        ));
    }
    if options.pgbouncer {
        conn.check_descriptions();
    }
    // A query this connection ran (or described) before: one statement, command known, nothing
    // to lex.
    let outcome = match (options.statement_cache || options.pgbouncer)
        .then(|| conn.statements.get(sql))
        .flatten()
    {
        Some(prepared) => execute_cached(conn, sql, prepared, params, options, early, true)
            .await
            .map(|result| vec![result]),
        // The paths below run once per statement and connection (or for the rarer forms):
        // boxed, so that the cached path's future, part of every query's, stays small.
        None => Box::pin(execute_uncached(conn, sql, params, options, early)).await,
    };
    if let Ok(results) = &outcome {
        let set = |r: &ResultSet| matches!(r.command.as_deref(), Some("SET" | "RESET"));
        if results.iter().any(set) && changes_rendering(sql) {
            conn.note_session_rendering();
        }
    }
    outcome
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
    if statements.iter().any(|s| s.copies_with_client()) {
        return Err(Error::argument(
            "COPY … FROM STDIN and COPY … TO STDOUT do not run through query(), whose answer \
             holds no data stream: use copyFrom(sql), a Writable, or copyTo(sql), a Readable, on \
             the manager or a client",
        ));
    }
    if params.is_empty() && statements.len() > 1 {
        let (in_transaction, text_oids) = (options.in_transaction, &options.text_oids);
        let pgbouncer = options.pgbouncer;
        return simple::run_many(conn, sql, &statements, in_transaction, pgbouncer, text_oids)
            .await;
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
    let prepared = statement(conn, sql, &first.command, options).await?;
    let result = if prepared.statement.is_some() && !options.statement_cache {
        // Prepared for this run only: closed again when `prepared` drops.
        run(conn, sql, &prepared, params, options, early).await
    } else {
        execute_cached(conn, sql, prepared, params, options, early, false).await
    };
    Ok(vec![result?])
}

/// The statement `sql` (one statement, whose command is `command`) runs as on `conn`: the
/// connection's cached one, else one prepared and cached now, or behind PgBouncer described
/// (`pinned`) and run unnamed, or with `statementCache: false` prepared for one use (closed again
/// when dropped). Streams take their result's shape from it before any row comes.
pub(crate) async fn statement(
    conn: &Conn,
    sql: &str,
    command: &str,
    options: &QueryOptions,
) -> Result<Prepared> {
    if let Some(prepared) = (options.statement_cache || options.pgbouncer)
        .then(|| conn.statements.get(sql))
        .flatten()
    {
        return Ok(prepared);
    }
    let command: Arc<str> = command.into();
    if options.pgbouncer {
        describe(conn, sql, command, options).await
    } else if !options.statement_cache {
        Ok(Prepared::new(conn.client().prepare(sql).await?, command))
    } else {
        prepare(conn, sql, command).await
    }
}

/// Prepares `sql` and keeps it in the connection's cache.
async fn prepare(conn: &Conn, sql: &str, command: Arc<str>) -> Result<Prepared> {
    let prepared = Prepared::new(conn.client().prepare(sql).await?, command);
    conn.statements.insert(sql, prepared.clone());
    Ok(prepared)
}

/// Describes `sql` for PgBouncer's transaction mode (`pinned`) and keeps its shape in the
/// connection's cache.
async fn describe(
    conn: &Conn,
    sql: &str,
    command: Arc<str>,
    options: &QueryOptions,
) -> Result<Prepared> {
    let described = pinned::describe(conn, &[sql], options.block(), false).await?;
    let shape = described
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(Error::Internal("no description".into())))?;
    let prepared = Prepared::unnamed(Arc::new(shape), command);
    conn.statements.insert(sql, prepared.clone());
    Ok(prepared)
}

/// Whether the server rejected a cached statement because its tables changed under it.
fn is_stale(e: &Error) -> bool {
    matches!(e, Error::Server(s) if (s.code == "0A000" && s.message.contains("cached plan"))
        || s.code == "26000")
}

/// Whether the server's error may say that a type a cached statement's plan names is gone (an
/// enum or domain dropped and created again): `cache lookup failed for type` (XX000) or `type with
/// OID … does not exist` (42704). The type need not be one the statement takes or returns (a
/// domain's values arrive as its base type), so nothing short of preparing the statement again
/// tells such an error from the statement's own.
fn may_lack_type(e: &Error) -> bool {
    matches!(e, Error::Server(s) if s.code == "XX000" || s.code == "42704")
}

/// Runs a statement prepared now or taken `from_cache`. One the server invalidated (its tables
/// changed) is prepared again; so is one whose values failed to decode, a sign that a type it
/// returns changed on the server (`ALTER TYPE`), once the connection has forgotten what it knew
/// of types: then only a SELECT runs again, whose rows had not reached JS, since running it twice
/// changes nothing else. A cached statement that fails as one whose types were dropped would is
/// prepared again too, and runs again: outside a transaction block its failure undid all it did,
/// and a failure of its own comes back the same. A failure inside a transaction block has
/// aborted it: the statement leaves the cache but does not run again, which would only fail with
/// 25P02.
///
/// A statement run unnamed (PgBouncer's transaction mode) is parsed again with each run, so never
/// stale on the server; it is described again where a prepared one would be prepared again. A
/// prepared-statement error (26000, 42P05) from one other than EXECUTE, DEALLOCATE or PREPARE can
/// only come from a type lookup tokio-postgres made outside a describe, whose statement may be
/// left on some server connection: the connection is poisoned, so that it is closed.
async fn execute_cached(
    conn: &Conn,
    sql: &str,
    prepared: Prepared,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
    from_cache: bool,
) -> Result<ResultSet> {
    let unnamed = prepared.statement.is_none();
    match run(conn, sql, &prepared, params, options, early).await {
        Err(e) if !unnamed && (is_stale(&e) || (from_cache && may_lack_type(&e))) => {
            conn.statements.remove(sql);
            if options.in_transaction {
                return Err(e);
            }
            let again = prepare(conn, sql, prepared.command).await?;
            run(conn, sql, &again, params, options, early).await
        }
        Err(Error::Decode(e)) => {
            conn.forget_types();
            let rows_went = early.is_some_and(|early| early.sent());
            if &*prepared.command != "SELECT" || rows_went {
                return Err(Error::Decode(e));
            }
            let again = if unnamed {
                describe(conn, sql, prepared.command, options).await?
            } else {
                prepare(conn, sql, prepared.command).await?
            };
            run(conn, sql, &again, params, options, early).await
        }
        Err(Error::Server(e))
            if unnamed
                && matches!(e.code.as_str(), "26000" | "42P05")
                && !matches!(&*prepared.command, "EXECUTE" | "DEALLOCATE" | "PREPARE") =>
        {
            // Most likely a column of a type this connection had not seen, after the statement
            // was described: the other connections describe theirs again before they meet it.
            conn.poison();
            conn.descriptions_changed();
            Err(Error::Server(e))
        }
        outcome => outcome,
    }
}

/// Runs a prepared statement: through the simple protocol when only the server can give the
/// text of a column, else with binary results gathered into columns.
async fn run(
    conn: &Conn,
    sql: &str,
    prepared: &Prepared,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
) -> Result<ResultSet> {
    let Prepared {
        shape,
        command,
        server_text,
        session_text,
        ..
    } = prepared;
    let executed = match &**command {
        "EXECUTE" => executed_command(conn, sql).await,
        _ => None,
    };
    let command = executed.as_deref().unwrap_or(command);
    if *server_text || (*session_text && conn.session_rendering()) {
        return simple::run_inlined(conn, sql, shape, command, params, &options.text_oids).await;
    }
    let skipped_before = conn.skipped_creates();
    let mut result = collect(conn, sql, prepared, command, params, options, early).await?;
    if result.row_count == Some(0)
        && command == "SELECT"
        && conn.skipped_creates() != skipped_before
        && creates_if_not_exists(sql)
    {
        // The relation existed: the server's tag is `CREATE TABLE AS` (or `CREATE MATERIALIZED
        // VIEW`), with no count, which tokio-postgres reads as 0 rows.
        result.command = Some("CREATE".into());
        result.row_count = None;
    }
    Ok(result)
}

/// The command of the prepared statement an `EXECUTE` runs, which the server's tag names (`SELECT
/// 4`, `INSERT 0 1`); `None` if it cannot be looked up, and the tag then says `EXECUTE`.
async fn executed_command(conn: &Conn, sql: &str) -> Option<String> {
    let name = executed_name(sql)?;
    let row = conn
        .client()
        .query_typed_opt(
            "SELECT statement FROM pg_prepared_statements WHERE name = $1",
            &[(&name, Type::TEXT)],
        )
        .await
        .ok()??;
    prepared_command(row.try_get(0).ok()?)
}

/// Executes a prepared statement and gathers its rows into columns; a long result's rows go to
/// `early` each time they pass [`EARLY_BYTES`]. Only for a command whose tag counts its rows: the
/// log reports that count, and the result keeps only the last rows. A statement without a
/// prepared one runs as the unnamed statement, in one round trip; should its rows' columns not
/// be those described (the tables changed since), the rows' own are used, and the description
/// is dropped.
async fn collect(
    conn: &Conn,
    sql: &str,
    prepared: &Prepared,
    command: &str,
    params: &[Param],
    options: &QueryOptions,
    early: Option<&dyn EarlyRows>,
) -> Result<ResultSet> {
    let shape = &prepared.shape;
    check_given(shape.params, params)?;
    let early = early.filter(|_| has_row_count(command));
    let stream = match &prepared.statement {
        Some(statement) => conn.client().query_raw(statement, params.iter()).await?,
        None => {
            let typed = params.iter().map(|p| (p, unspecified()));
            conn.client().query_typed_raw(sql, typed).await?
        }
    };
    pin_mut!(stream);
    let (types, fields) = (shape.types.clone(), shape.fields.clone());
    let checked = prepared.statement.is_some();
    let mut gather = Gather::new(conn, types, fields, &options.text_oids, checked);
    while let Some(row) = stream.next().await {
        gather.push(&row?);
        if let Some(early) = early.filter(|_| gather.bytes().is_some_and(|b| b >= EARLY_BYTES)) {
            early.send(gather.take());
        }
    }
    let mut result = gather.finish()?;
    result.command = Some(command.to_owned());
    result.row_count = if has_row_count(command) {
        stream.rows_affected()
    } else {
        None
    };
    Ok(result)
}
