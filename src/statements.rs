//! Each connection's bounded cache of prepared statements, keyed by SQL text, least recently used
//! out first, each with its command word (so a cached query is not lexed again). Dropping a
//! tokio-postgres `Statement` closes it on the server. In PgBouncer's transaction mode the cache
//! holds statements' shapes only, each described once per connection (`pinned`).
//!
//! Several queries may run on one connection at once (a pipelined BEGIN, a shared connection), so
//! the cache sits behind a mutex; each method holds it only for a map operation, never across an
//! `.await`.
use crate::result::Field;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_postgres::types::Type;
use tokio_postgres::Statement;

/// What running a statement needs to know of it: how many parameters it takes, and its result
/// columns' fields and types. Taken from a statement prepared on the connection, whether it stays
/// prepared there or was only described (PgBouncer's transaction mode).
#[derive(Debug)]
pub struct Shape {
    /// How many parameters the statement takes.
    pub params: usize,
    /// Its result's fields, as node-postgres reports them.
    pub fields: Vec<Field>,
    /// The type of each field.
    pub types: Vec<Type>,
}

impl Shape {
    /// The shape of `statement`.
    pub fn of(statement: &Statement) -> Shape {
        let columns = statement.columns();
        Shape {
            params: statement.params().len(),
            fields: columns.iter().map(Field::of).collect(),
            types: columns.iter().map(|c| c.type_().clone()).collect(),
        }
    }
}

/// A statement, the command word its tag starts with, and how its columns are read.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement prepared on the connection; `None` for one run as the unnamed statement,
    /// parsed again with each run (PgBouncer's transaction mode).
    pub statement: Option<Statement>,
    /// Its parameters and columns.
    pub shape: Arc<Shape>,
    /// Its command (`SELECT`, `INSERT`, …).
    pub command: Arc<str>,
    /// Whether a column's text can come only from the server (`simple::run_inlined`).
    pub server_text: bool,
    /// Whether a column's text depends on session settings (`text::session_renders`).
    pub session_text: bool,
}

impl Prepared {
    /// `statement`, prepared on the connection, whose command is `command`.
    pub fn new(statement: Statement, command: Arc<str>) -> Prepared {
        let shape = Arc::new(Shape::of(&statement));
        Prepared {
            statement: Some(statement),
            ..Prepared::unnamed(shape, command)
        }
    }

    /// A statement of this `shape` run as the unnamed statement, whose command is `command`.
    pub fn unnamed(shape: Arc<Shape>, command: Arc<str>) -> Prepared {
        use crate::convert::text::{server_renders, session_renders};
        Prepared {
            statement: None,
            server_text: shape.types.iter().any(server_renders),
            session_text: shape.types.iter().any(session_renders),
            shape,
            command,
        }
    }
}

/// A least-recently-used map from SQL text to its prepared statement.
#[derive(Debug)]
pub struct StatementCache {
    capacity: usize,
    lru: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    clock: u64,
    entries: HashMap<String, (Prepared, u64)>,
}

impl StatementCache {
    /// A cache of at most `capacity` statements.
    pub fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            lru: Mutex::new(Lru::default()),
        }
    }

    fn lru(&self) -> MutexGuard<'_, Lru> {
        // The map stays consistent whatever panicked while it was held.
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The statement prepared for `sql`, marked as just used.
    pub fn get(&self, sql: &str) -> Option<Prepared> {
        let mut lru = self.lru();
        lru.clock += 1;
        let clock = lru.clock;
        lru.entries.get_mut(sql).map(|(statement, used)| {
            *used = clock;
            statement.clone()
        })
    }

    /// Keeps `statement` for `sql`, evicting the least recently used one when full. When two
    /// queries on the connection prepared the same SQL at once, the first kept wins; the other's
    /// statement is closed on the server once its query drops it.
    pub fn insert(&self, sql: &str, statement: Prepared) {
        let mut lru = self.lru();
        lru.clock += 1;
        let clock = lru.clock;
        if let Some((_, used)) = lru.entries.get_mut(sql) {
            *used = clock;
            return;
        }
        if lru.entries.len() >= self.capacity {
            // Eviction scans the map: it is bounded by `capacity` (hundreds) and happens only
            // when a new statement arrives at a full cache.
            if let Some(oldest) = lru
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                lru.entries.remove(&oldest);
            }
        }
        lru.entries.insert(sql.to_owned(), (statement, clock));
    }

    /// Forgets the statement for `sql` (after the server invalidated it).
    pub fn remove(&self, sql: &str) {
        self.lru().entries.remove(sql);
    }

    /// Forgets every statement (after a type they return changed on the server).
    pub fn clear(&self) {
        self.lru().entries.clear();
    }

    /// How many statements are cached.
    pub fn len(&self) -> usize {
        self.lru().entries.len()
    }

    /// Whether no statement is cached.
    pub fn is_empty(&self) -> bool {
        self.lru().entries.is_empty()
    }
}
