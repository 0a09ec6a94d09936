//! The query behind a stream (`manager.stream`, `client.stream`): a cursor the server keeps inside
//! a transaction block, `DECLARE … NO SCROLL CURSOR FOR <query>`, read with `FETCH FORWARD n` each
//! time JS asks for rows. The server runs the query only as far as it has been read, and a stream
//! stopped early ends with `CLOSE` or the end of its block: nothing is left to drain.
//!
//! A declared cursor is the server's named portal (it is listed in `pg_cursors`) fetched with a
//! row count, as a protocol portal (Bind to a named portal, then Execute with a row limit) would
//! be. tokio-postgres 0.7.18 binds such portals only on a `Transaction`, which takes the client
//! by `&mut` (the pool shares it behind an `Arc`) and can only be begun by sending `BEGIN`, so it
//! cannot serve inside a transaction the caller opened; `Portal::new` and the raw request path
//! are crate-private. `DECLARE` runs as the unnamed statement with its values untyped (as
//! `query::unspecified` sends them), and `FETCH` unnamed too, so behind PgBouncer nothing named
//! outlives the block.
use crate::connection::Conn;
use crate::error::Result;
use crate::gather::Gather;
use crate::params::Param;
use crate::query::unspecified;
use crate::result::ResultSet;
use crate::simple;
use crate::statements::{Prepared, Shape};
use futures_util::{pin_mut, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_postgres::types::Type;

/// Numbers cursor names, so that two streams never share one on a connection.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// One declared cursor and how its rows are read.
pub struct Cursor {
    name: String,
    /// The query's text, whose cached statement is dropped should its columns have changed.
    sql: String,
    /// The query's statement, for its result's fields and types (as `query()` reports them).
    prepared: Prepared,
    /// Its shape without parameters, for a `FETCH` through the simple protocol.
    text_shape: Shape,
    /// Types JS parses itself from text (the `types` option).
    text_oids: Arc<[u32]>,
}

impl Cursor {
    /// A cursor for `sql`, whose statement on the connection is `prepared`; not declared yet.
    pub fn new(sql: &str, prepared: Prepared, text_oids: &[u32]) -> Cursor {
        let shape = &prepared.shape;
        let text_shape = Shape {
            params: 0,
            fields: shape.fields.clone(),
            types: shape.types.clone(),
        };
        Cursor {
            name: format!(
                "pg_rust_pool_stream_{}",
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            sql: sql.to_owned(),
            // A statement prepared for this use only is closed now: its shape is all that is
            // needed.
            prepared: Prepared {
                statement: None,
                ..prepared
            },
            text_shape,
            text_oids: text_oids.into(),
        }
    }

    /// Declares the cursor on `conn`, which must be inside a transaction block (else the server
    /// answers 25P01): its query is parsed and planned, and its first row waits for a `FETCH`.
    pub async fn declare(&self, conn: &Conn, params: &[Param]) -> Result<Vec<ResultSet>> {
        let text = format!("DECLARE {} NO SCROLL CURSOR FOR {}", self.name, self.sql);
        let typed = params.iter().map(|p| (p, unspecified()));
        let answer = conn.client().query_typed_raw(&text, typed).await?;
        pin_mut!(answer);
        while let Some(row) = answer.next().await {
            row?;
        }
        Ok(Vec::new())
    }

    /// `CLOSE` of the cursor, for a stream that ends early inside a block it did not open.
    pub fn close_sql(&self) -> String {
        format!("CLOSE {}", self.name)
    }

    /// Reads the next `rows` rows, of which `fetched` came before: a result with the query's
    /// fields; `command` and `row_count` are set (`SELECT`, the rows of the whole query) on the
    /// last one, the one with fewer rows than asked for.
    pub async fn fetch(&self, conn: &Conn, rows: u32, fetched: u64) -> Result<ResultSet> {
        let sql = format!("FETCH FORWARD {rows} FROM {}", self.name);
        let p = &self.prepared;
        let mut result = if p.server_text || (p.session_text && conn.session_rendering()) {
            let (shape, oids) = (&self.text_shape, &self.text_oids);
            simple::run_inlined(conn, &sql, shape, "SELECT", &[], oids).await?
        } else {
            self.gather(conn, &sql).await?
        };
        let ended = result.rows < rows as usize;
        result.command = ended.then(|| "SELECT".to_owned());
        result.row_count = ended.then_some(fetched + result.rows as u64);
        Ok(result)
    }

    /// Runs `FETCH` and gathers its binary rows into columns (`gather`). Should the rows'
    /// columns not be those of the query's statement (the tables changed since it was
    /// prepared), the rows' own are used and the statement leaves the connection's cache.
    async fn gather(&self, conn: &Conn, sql: &str) -> Result<ResultSet> {
        let shape = &self.prepared.shape;
        let (types, fields) = (shape.types.clone(), shape.fields.clone());
        let mut gather = Gather::new(conn, types, fields, &self.text_oids, false);
        let answer = conn
            .client()
            .query_typed_raw(sql, std::iter::empty::<(Param, Type)>())
            .await?;
        pin_mut!(answer);
        while let Some(row) = answer.next().await {
            if gather.push(&row?) {
                conn.statements.remove(&self.sql);
            }
        }
        gather.finish()
    }
}
