//! Each connection's bounded cache of prepared statements, keyed by SQL text, least recently used
//! out first, each with its command word (so a cached query is not lexed again). Dropping a
//! tokio-postgres `Statement` closes it on the server.
use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::Statement;

/// A prepared statement and the command word its tag starts with.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement.
    pub statement: Statement,
    /// Its command (`SELECT`, `INSERT`, …).
    pub command: Arc<str>,
}

/// A least-recently-used map from SQL text to its prepared statement.
#[derive(Debug)]
pub struct StatementCache {
    capacity: usize,
    clock: u64,
    entries: HashMap<String, (Prepared, u64)>,
}

impl StatementCache {
    /// A cache of at most `capacity` statements.
    pub fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            clock: 0,
            entries: HashMap::new(),
        }
    }

    /// The statement prepared for `sql`, marked as just used.
    pub fn get(&mut self, sql: &str) -> Option<Prepared> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(sql).map(|(statement, used)| {
            *used = clock;
            statement.clone()
        })
    }

    /// Keeps `statement` for `sql`, evicting the least recently used one when full.
    pub fn insert(&mut self, sql: &str, statement: Prepared) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(sql) {
            // Eviction scans the map: it is bounded by `capacity` (hundreds) and happens only
            // when a new statement arrives at a full cache.
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(sql.to_owned(), (statement, self.clock));
    }

    /// Forgets the statement for `sql` (after the server invalidated it).
    pub fn remove(&mut self, sql: &str) {
        self.entries.remove(sql);
    }

    /// How many statements are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no statement is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
