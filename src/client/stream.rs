//! Streams (`manager.stream`, `client.stream`): a cursor (`crate::cursor`) on a client's
//! connection, read one batch per call, each in the client's turn: the server runs the query only
//! as far as JS has asked.
//!
//! Outside a transaction block the stream opens one of its own (`BEGIN` goes out with `DECLARE`,
//! in one round trip) and ends it: `COMMIT` when read to the end or stopped early, `ROLLBACK`
//! after an error or an abort. Inside the caller's block it runs in it as it is, and `CLOSE`s its
//! cursor when stopped early; an error there aborts the block, as any failed statement does. A
//! manager's stream has a client of its own, released when the stream ends (its `COMMIT` written,
//! the connection goes back before the answer). One that JS collected before it ended is ended
//! as an early stop (`streams`); dropped unended all the same, a manager's stream drops its
//! client, which closes a connection left inside the stream's block.
use super::*;
use crate::cursor::Cursor;
use crate::split::split;

/// How a stream ends its transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Read to the end, or stopped early: `COMMIT` (or `CLOSE` in the caller's block).
    Commit,
    /// An error or an abort: `ROLLBACK` (or, in the caller's block, `CLOSE` if it can still run).
    Rollback,
}

/// One open stream.
pub struct Stream {
    client: Arc<Client>,
    /// A manager's stream: its client is its own, released when it ends.
    owned: bool,
    cursor: Arc<Cursor>,
    /// Whether the stream opened the transaction block it runs in.
    own_block: bool,
    /// Rows fetched so far, and whether the stream has ended.
    progress: std::sync::Mutex<(u64, bool)>,
}

impl Stream {
    /// A manager's stream: a client of its own (without `wait`, only a connection free now, see
    /// `Pool::connect`), then [`Stream::open`]. A limit reached while it waits for the connection
    /// leaves the checkout to finish in a task of its own, which gives the connection back.
    pub async fn checkout(
        pool: &Arc<Pool>,
        wait: bool,
        sql: String,
        params: Vec<Param>,
        limit: Limit,
    ) -> Result<Stream> {
        let pool = Arc::clone(pool);
        let mut checking = tokio::spawn(async move { Client::checkout(&pool, wait).await });
        let client = tokio::select! {
            biased;
            checked = &mut checking => checked
                .unwrap_or_else(|e| Err(Error::Internal(format!("a checkout's task failed: {e}"))))?,
            e = limit.reached(Stage::Waiting) => return Err(e),
        };
        let client = Arc::new(client);
        match Stream::open(Arc::clone(&client), true, None, sql, params, limit).await {
            Ok(stream) => Ok(stream),
            Err(e) => {
                client.release(false).await;
                Err(e)
            }
        }
    }

    /// Opens a stream of `sql`'s rows on `client` (its own when `owned`), behind `begin` when
    /// the client deferred one: `sql` must be one query (`SELECT`, `VALUES`, `TABLE`, `WITH …
    /// SELECT`); its statement is taken from the connection's cache or prepared (as `query()`
    /// would), then the cursor is declared.
    pub async fn open(
        client: Arc<Client>,
        owned: bool,
        begin: Option<String>,
        sql: String,
        params: Vec<Param>,
        limit: Limit,
    ) -> Result<Stream> {
        let open: Op<(Cursor, bool)> = Box::new(move |checkout| {
            Box::pin(async move {
                // Before anything can fail: a refused stream leaves the BEGIN to the next query.
                if let Some(begin) = begin {
                    checkout.defer_begin(begin);
                }
                crate::params::check_count(&params)?;
                let command = query_command(&sql)?;
                declare_on(checkout, &sql, &command, &params).await
            })
        });
        let (cursor, own_block) = client.run(open, &limit).await?;
        Ok(Stream {
            client,
            owned,
            cursor: Arc::new(cursor),
            own_block,
            progress: std::sync::Mutex::new((0, false)),
        })
    }

    /// Whether the stream has ended: read to the end, failed, or closed.
    pub fn ended(&self) -> bool {
        self.progress().1
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, (u64, bool)> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `rows` rows, as one result (see `Cursor::fetch`); the last one (fewer rows than
    /// asked) ends the stream. A failed fetch ends it too, rolled back, before its error returns:
    /// the connection is clean (or closed) by the time the caller hears of it.
    pub async fn fetch(&self, rows: u32, limit: &Limit) -> Result<Vec<ResultSet>> {
        let (fetched, ended) = *self.progress();
        if ended {
            return Err(Error::argument(
                "the stream has ended: its rows were all read",
            ));
        }
        let cursor = Arc::clone(&self.cursor);
        let fetch: Op<Vec<ResultSet>> = Box::new(move |checkout| {
            Box::pin(async move { fetch_on(checkout, &cursor, rows, fetched).await })
        });
        let outcome = self.client.run(fetch, limit).await;
        let ended = match &outcome {
            Ok(results) => results.iter().any(|r| r.command.is_some()),
            Err(_) => true,
        };
        if !ended {
            let got: usize = outcome.iter().flatten().map(|r| r.rows).sum();
            self.progress().0 += got as u64;
            return outcome;
        }
        match outcome {
            Ok(results) => self.end(End::Commit).await.map(|()| results),
            Err(e) => {
                let _ = self.end(End::Rollback).await;
                Err(e)
            }
        }
    }

    /// Stops the stream before its end: as read to the end (`COMMIT`, or `CLOSE` in the
    /// caller's block), or after an abort (`failed`: `ROLLBACK`). Nothing once it has ended.
    pub async fn close(&self, failed: bool) -> Result<()> {
        self.end(if failed { End::Rollback } else { End::Commit })
            .await
    }

    /// Ends the stream once: its cursor and block as `how` says, and a manager's stream's client
    /// released.
    async fn end(&self, how: End) -> Result<()> {
        {
            let mut progress = self.progress();
            if progress.1 {
                return Ok(());
            }
            progress.1 = true;
        }
        match (self.owned, how) {
            (true, End::Commit) => self.client.commit_and_release().await,
            (true, End::Rollback) => {
                self.client.release(false).await;
                Ok(())
            }
            (false, how) => {
                let (cursor, own_block) = (Arc::clone(&self.cursor), self.own_block);
                let end: Op<()> = Box::new(move |checkout| {
                    Box::pin(async move { end_on(checkout, &cursor, own_block, how).await })
                });
                self.client.run(end, &Limit::none()).await
            }
        }
    }
}

/// The command of `sql` if it is one query a cursor can read (`SELECT`, `VALUES`, `TABLE`,
/// `WITH … SELECT`; not `CREATE TABLE … AS`, which the server also tags `SELECT`), else why not.
fn query_command(sql: &str) -> Result<String> {
    match split(sql).as_slice() {
        [one] if one.command == "SELECT" && !starts_with(one.text, "CREATE") => {
            Ok(one.command.clone())
        }
        [one] if !one.command.is_empty() => Err(Error::argument(format!(
            "stream() reads the rows of a query (SELECT, VALUES, TABLE or WITH … SELECT), not of \
             {}: run it with query()",
            one.command
        ))),
        _ => Err(Error::argument(
            "stream() takes one statement (got several, or none): run each with query()",
        )),
    }
}

/// Whether `text` starts with the keyword `word`.
fn starts_with(text: &str, word: &str) -> bool {
    crate::split::words(text)
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// Declares a cursor for `sql` on the checkout: behind `BEGIN` when the connection is outside
/// any transaction block (the stream's own, returned as `true`), in the caller's block as it is.
/// The query's statement is found (or prepared) behind that BEGIN, as a query's would be, so a
/// failure aborts the caller's block as running the query would; the stream's own block is
/// rolled back.
async fn declare_on(
    checkout: &mut Checkout,
    sql: &str,
    command: &str,
    params: &[Param],
) -> Result<(Cursor, bool)> {
    let has_params = !params.is_empty();
    let mut own_block = checkout.state == TxState::Idle && matches!(checkout.begin, Begin::None);
    loop {
        if own_block {
            checkout.defer_begin("BEGIN".into());
        }
        let mut declared = None;
        let slot = &mut declared;
        let outcome = checkout
            .run_with("DECLARE", has_params, |pool, conn, options| async move {
                let started = std::time::Instant::now();
                let outcome = async {
                    let prepared = crate::query::statement(conn, sql, command, options).await?;
                    crate::params::check_given(prepared.shape.params, params)?;
                    let cursor = Cursor::new(sql, prepared, &options.text_oids);
                    cursor.declare(conn, params).await?;
                    *slot = Some(cursor);
                    Ok(Vec::new())
                };
                pool.timed(sql, params, started, outcome.await)
            })
            .await;
        match (outcome, declared) {
            (Ok(_), Some(cursor)) => return Ok((cursor, own_block)),
            // The state was not known: there was no block after all (25P01).
            (Err(Error::Server(e)), _) if e.code == "25P01" && !own_block => own_block = true,
            (outcome, _) => {
                if own_block {
                    roll_back(checkout).await;
                }
                return Err(outcome
                    .err()
                    .unwrap_or_else(|| Error::Internal("a cursor was not declared".into())));
            }
        }
    }
}

/// Rolls back the stream's own block after its cursor could not be declared, so that the
/// client's next query runs outside it, as it would have without the stream.
async fn roll_back(checkout: &mut Checkout) {
    let Some(conn) = checkout.conn.as_deref() else {
        return;
    };
    if checkout.state != TxState::Idle {
        let ended = conn.client().batch_execute("ROLLBACK").await;
        checkout.state = if ended.is_ok() {
            TxState::Idle
        } else {
            TxState::Unknown
        };
    }
}

/// Fetches the next `rows` rows on the checkout, the transaction state following the outcome as
/// it follows a query's: a server error aborts the block the cursor lives in.
async fn fetch_on(
    checkout: &mut Checkout,
    cursor: &Cursor,
    rows: u32,
    fetched: u64,
) -> Result<Vec<ResultSet>> {
    let conn = checkout.conn.as_deref().ok_or(Error::ClientReleased)?;
    let before = checkout.state;
    // Until the outcome is known: dropped half way, the checkout closes its connection.
    checkout.state = TxState::Unknown;
    let outcome = cursor.fetch(conn, rows, fetched).await.map(|r| vec![r]);
    checkout.state = before.after_outcome("FETCH", false, &outcome);
    let pool = checkout.lease.pool();
    match outcome {
        Err(e) => {
            pool.stats().failed(&e);
            // `close({ timeoutMillis })` cut the connection under the stream: say so.
            let cut = e.is_connection_fatal() && pool.cut_off(conn.pid());
            Err(if cut { Error::ClosedDuringCall } else { e })
        }
        ok => ok,
    }
}

/// Ends a client's stream on the checkout: its own block committed (`End::Commit`) or rolled
/// back, or in the caller's block its cursor closed, unless that block was aborted (the cursor
/// goes with its rollback).
async fn end_on(checkout: &mut Checkout, cursor: &Cursor, own_block: bool, how: End) -> Result<()> {
    let conn = checkout.conn.as_deref().ok_or(Error::ClientReleased)?;
    let before = checkout.state;
    let sql = match (own_block, how, before) {
        (true, End::Commit, TxState::Open) => "COMMIT".to_owned(),
        (true, _, _) => "ROLLBACK".to_owned(),
        (false, _, TxState::Open) => cursor.close_sql(),
        (false, _, _) => return Ok(()),
    };
    checkout.state = TxState::Unknown;
    let outcome = conn.client().batch_execute(&sql).await.map_err(Error::from);
    let ran = outcome.clone().map(|()| Vec::new());
    checkout.state = before.after_outcome(&sql, false, &ran);
    outcome
}
