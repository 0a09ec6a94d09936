//! The defaults, each with its reason.
/// node-postgres's default; libpq's own default socket directory differs between systems.
pub const HOST: &str = "localhost";
/// libpq's default port.
pub const PORT: u16 = 5432;
/// When `USER` is unset too (as in many containers): the superuser every cluster starts with.
pub const USER: &str = "postgres";
/// Shown in `pg_stat_activity` so operators can tell this pool's backends apart.
pub const APPLICATION_NAME: &str = "pg-rust-pool";
/// On: a repeated query then costs one round trip instead of two.
pub const STATEMENT_CACHE: bool = true;
/// On: where quick queries come in bursts the server answers several per wake-up (see `quick`).
pub const PIPELINE_QUICK_QUERIES: bool = true;
/// Off: with a server of its own each connection keeps prepared statements, a round trip saved
/// per query; PgBouncer's transaction mode, which cannot keep them, is asked for (`pgbouncer`).
pub const PGBOUNCER: bool = false;
/// Hundreds of distinct statements cover most applications; each costs server memory.
pub const MAX_PREPARED_STATEMENTS: usize = 256;
/// Off, as in HikariCP: how long is too long depends on the application.
pub const LEAK_DETECTION_THRESHOLD_MILLIS: u64 = 0;
/// Long enough to span a lone point query's round trip on a local network (the window starts with
/// the call): 100 µs spanned W1's `SELECT $1::int` (about 40 µs) but not W2's primary-key lookup,
/// whose answer then came to a sleeping engine; with 200, one-at-a-time W2 queries ran at
/// 10,104–10,955/s against 7,294–9,434/s (2 cores, alternating runs, W1 unchanged or better,
/// CPU per query no higher). Short enough that an application making a query now and then spends
/// little on it.
pub const BUSY_POLL_MICROS: u64 = 200;
/// On: a connection through a NAT or firewall that dropped it is noticed, not kept forever.
pub const KEEP_ALIVE: bool = true;
/// One minute, well under the idle timeouts of common NATs and load balancers (several
/// minutes); the OS default of two hours would notice a dead peer far too late.
pub const KEEP_ALIVE_INITIAL_DELAY_MILLIS: u64 = 60_000;
/// Five failed connection attempts in a row: enough that a single refused connect (a server
/// restarting) does not trip it, few enough that a dead database stops costing every caller
/// a full connect timeout within seconds.
pub const CIRCUIT_FAILURE_THRESHOLD: u64 = 5;
/// Ten seconds between probes of a database that is down: a restart or failover takes about
/// that long, and one probe per ten seconds costs the server nothing.
pub const CIRCUIT_RESET_TIMEOUT_MILLIS: u64 = 10_000;
/// How long sent data may stay unacknowledged (or keepalive probes unanswered) before the
/// kernel gives the connection up: a peer that vanished without a FIN or RST (a dropped
/// NAT mapping, a failed-over host) fails its in-flight query in seconds rather than after
/// Linux's 15 minutes of retransmissions, while a live peer acknowledges within
/// milliseconds even when its server is busy (the kernel acknowledges, not PostgreSQL).
pub const TCP_USER_TIMEOUT_MILLIS: u64 = 30_000;
/// Off, as in node-postgres (`query_timeout`): a statement's time limit is the
/// application's to choose; `statementTimeout` is the server-side one.
pub const QUERY_TIMEOUT_MILLIS: u64 = 0;
/// libpq's cancel waits as long as the server takes; five seconds is long for a server to
/// act on a cancel request, short enough that a hung backend does not hold a caller.
pub const CANCEL_TIMEOUT_MILLIS: u64 = 5_000;
/// `warn`: a server's stderr shows what needs attention (slow queries, failed connects),
/// not every query.
pub const LOG_LEVEL: tracing::Level = tracing::Level::WARN;
