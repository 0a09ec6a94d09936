// Public typings of pg-rust-pool. Hand-written: the generated native typings live in native.d.ts.
/// <reference types="node" />
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable, Writable } from 'node:stream'

/** A parser from PostgreSQL's text output of a value to the JS value you want. */
export type TypeParser = (text: string) => unknown

/**
 * Options of `new DatabaseManager(options)`. Each falls back to the connection string, then to
 * the environment variable named, then to the default.
 */
export interface DatabaseManagerOptions {
  /**
   * `postgres://user:password@host:port/database?application_name=…` or a libpq
   * `key=value` string. Explicit options win over its parts.
   * Environment: `DATABASE_URL`.
   */
  connectionString?: string
  /**
   * Host name, IP address, or a unix-socket directory (a path starting with `/`); several,
   * separated by commas, are tried in turn (see `targetSessionAttrs`).
   * Environment: `DB_HOST`, then `PGHOST`.
   * @default 'localhost'
   */
  host?: string
  /**
   * Servers to try in turn, each `'host'`, `'host:port'`, `'[IPv6 address]:port'` or a
   * unix-socket directory; an entry without a port takes `port`. Wins over `host` and the
   * connection string's hosts.
   */
  hosts?: string[]
  /**
   * Which server of the hosts a connection may stay on (libpq's `target_session_attrs`):
   * `'any'`; `'read-write'` / `'read-only'` (by `default_transaction_read_only` and hot
   * standby); `'primary'` / `'standby'` (by hot standby); `'prefer-standby'` (a standby when
   * one of the hosts is, else any). A pooled connection whose server changes role (a promotion:
   * the server says so with its answer to the session's next command) is retired when next
   * taken from the pool (`remove` reason `'role'`).
   * Environment: `PGTARGETSESSIONATTRS`; connection string: `target_session_attrs`.
   * @default 'any'
   */
  targetSessionAttrs?: 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby'
  /**
   * `'random'`: each connection tries the hosts in a random order, spreading connections over
   * them. `'disable'`: in the order given.
   * Environment: `PGLOADBALANCEHOSTS`; connection string: `load_balance_hosts`.
   * @default 'disable'
   */
  loadBalanceHosts?: 'disable' | 'random'
  /**
   * Read replicas: a second pool (of up to `max` connections) that `readOnly` queries,
   * transactions and clients use while one of them is reachable (and within
   * `maxReplicaLagMillis`), falling back to the primary otherwise. Each entry is `'host'`,
   * `'host:port'` or a connection string whose hosts and ports are taken; everything else
   * (user, password, database, TLS, …) is the primary's. The replicas are load-balanced at random.
   */
  replicas?: string | string[]
  /**
   * With `replicas`: how far behind the primary a replica may be, by
   * `now() - pg_last_xact_replay_timestamp()` (checked at most once a second), before
   * `readOnly` work goes to the primary instead. 0: no bound.
   * @default 0
   */
  maxReplicaLagMillis?: number
  /**
   * Server port.
   * Environment: `DB_PORT`, then `PGPORT`.
   * @default 5432
   */
  port?: number
  /**
   * Database name.
   * Environment: `DB_NAME`, then `PGDATABASE`.
   * @default the user name
   */
  database?: string
  /**
   * User name.
   * Environment: `DB_USER`, then `PGUSER`, then `USER`.
   * @default 'postgres'
   */
  user?: string
  /**
   * Password. Never appears in errors, logs or `String(manager)`.
   * Environment: `DB_PASSWORD`, then `PGPASSWORD`.
   */
  password?: string
  /**
   * Largest number of connections the pool opens.
   * Environment: `DB_POOL_MAX`.
   * @default 10; 20 with `NODE_ENV=production`
   */
  max?: number
  /**
   * Connections kept open even when idle (opened in the background; a profile's `min` above
   * an explicit `max` is lowered to it).
   * Environment: `DB_POOL_MIN`.
   * @default 2; 5 with `NODE_ENV=production`
   */
  min?: number
  /**
   * `application_name` reported to the server (visible in `pg_stat_activity`).
   * Environment: `DB_APPLICATION_NAME`, then `PGAPPNAME`.
   * @default 'pg-rust-pool'
   */
  applicationName?: string
  /**
   * How long a query waits for a free connection (and a new connection may take to open) before
   * rejecting with `POOL_TIMEOUT` or `CONNECT_TIMEOUT`, in milliseconds; 0 waits forever.
   * Environment: `DB_TIMEOUT`.
   * @default 30000; 60000 with `NODE_ENV=production`
   */
  connectionTimeoutMillis?: number
  /**
   * Server-side `statement_timeout` of every connection, in milliseconds; 0 means none.
   * A statement running longer fails with SQLSTATE `57014`. Refused with `pgbouncer`.
   * Environment: `DB_STATEMENT_TIMEOUT`.
   * @default 0
   */
  statementTimeout?: number
  /**
   * Client-side limit of every query in milliseconds, the wait for a connection included; 0
   * means none. Past it a query rejects with `QUERY_TIMEOUT` and its statement is cancelled on
   * the server (see `QueryConfig.timeoutMillis`). node-postgres's `query_timeout` is accepted
   * as another name for it.
   * Environment: `DB_QUERY_TIMEOUT`.
   * @default 0
   */
  queryTimeoutMillis?: number
  /**
   * How long sent data may go unacknowledged (or keepalive probes unanswered) before the
   * connection is given up (`TCP_USER_TIMEOUT`): a query whose server vanished without closing
   * the connection fails after this long (after `keepAliveInitialDelayMillis` plus this when it
   * was waiting for a long-running statement's answer). 0 uses the system's (15 minutes on Linux).
   * Connection string: `tcp_user_timeout` (ms).
   * @default 30000
   */
  tcpUserTimeoutMillis?: number
  /**
   * The circuit breaker in front of new connections: after `failureThreshold` failed connection
   * attempts in a row, calls that need a new connection fail at once with `DATABASE_UNAVAILABLE`
   * for `resetTimeoutMillis`, while idle connections keep serving; then one attempt is let
   * through, and its success closes it. `false` turns it off.
   * @default { failureThreshold: 5, resetTimeoutMillis: 10000 }
   */
  circuitBreaker?: false | { failureThreshold?: number; resetTimeoutMillis?: number }
  /** node-postgres's name for `queryTimeoutMillis`. */
  query_timeout?: number
  /**
   * How long a cancelled statement (past its timeout, or aborted) may take to end on the server
   * before its connection is closed instead of reused.
   * @default 5000
   */
  cancelTimeoutMillis?: number
  /**
   * Keep prepared statements per connection, keyed by SQL text, so a repeated query costs one
   * round trip. `false` prepares, runs and closes a statement per query, which PgBouncer in
   * transaction mode still breaks: behind it use `pgbouncer: true`, which turns this off (and
   * refuses `statementCache: true`).
   * @default true; false with `pgbouncer`
   */
  statementCache?: boolean
  /**
   * Let a manager query (`query()`, not a client's or a transaction's) of a statement the server
   * is known to answer quickly (every run of it lately under 2 ms) queue behind up to seven other
   * such queries on a connection already in use, before it takes an idle one: the server then
   * answers several per wake-up, which costs it and this process less CPU per query. A
   * statement's first run, and the runs after one that took 2 ms or more, take an idle connection
   * as with `false`, where a manager query shares a connection only when none is idle and `max`
   * are open. The price: a quick statement's first slow run (a lock, values that make it slow)
   * holds up the quick queries queued behind it.
   * @default true
   */
  pipelineQuickQueries?: boolean
  /**
   * PgBouncer in transaction pooling mode: no named prepared statement is used
   * outside a transaction block, nor left on a server connection, and nothing depends on the
   * session. Each query runs as the unnamed statement in one round trip; each SQL text is
   * described once per connection inside a short transaction of its own (two round trips).
   * `statementTimeout`, `options` and a connection string's `options` are refused
   * (`INVALID_CONFIG`): set them on the server with `ALTER ROLE … SET`. `pid` in events is then
   * a negative number of the pool's own. Connection string: `?pgbouncer=true`.
   * Environment: `DB_PGBOUNCER`.
   * @default false
   */
  pgbouncer?: boolean
  /**
   * Most prepared statements each connection keeps (least recently used go first); with
   * `pgbouncer`, most statement descriptions.
   * @default 256
   */
  maxPreparedStatements?: number
  /**
   * Parsers by type OID, applied to the server's text output of that type, like
   * node-postgres' `types.setTypeParser(oid, parser)` but for this manager only.
   * @default {}
   */
  types?: Record<number, TypeParser>
  /**
   * How `int8` (`bigint`) values arrive: as strings (node-postgres' default, exact), as
   * numbers (inexact above 2^53), or as `bigint`s. Also applies to `int8[]`.
   * @default 'string'
   */
  int8?: 'string' | 'number' | 'bigint'
  /**
   * How long a client from `getClient()` (or a transaction's client) may be held, in
   * milliseconds, before a `'leak'` event (or, without a listener, a process warning) reports it
   * with the stack of the code that acquired it; one warning per client. 0 turns it off.
   * Environment: `DB_LEAK_DETECTION_THRESHOLD`.
   * @default 0
   */
  leakDetectionThreshold?: number
  /**
   * Idle connections above `min` close after this many milliseconds; 0 keeps them.
   * Environment: `DB_IDLE_TIMEOUT`.
   * @default 10000; 300000 with `NODE_ENV=production`
   */
  idleTimeoutMillis?: number
  /**
   * Connections older than this many seconds are closed when next released (or while idle);
   * each gets up to a tenth less, so they do not all go at once. 0 means no limit.
   * @default 0
   */
  maxLifetimeSeconds?: number
  /**
   * A connection is replaced after serving this many queries; 0 means no limit.
   * @default 0
   */
  maxUses?: number
  /**
   * TCP keepalive on every connection, so a connection silently dropped by a NAT or firewall
   * is noticed.
   * @default true
   */
  keepAlive?: boolean
  /**
   * Idle time before the first keepalive probe, in milliseconds (rounded up to seconds).
   * @default 60000
   */
  keepAliveInitialDelayMillis?: number
  /**
   * How long, in microseconds, the engine's thread polls instead of sleeping after a query
   * starts with no other query of this manager in flight, and after each outcome while it polls.
   * It saves the two thread wake-ups of a lone query's round trip (about a fifth of it), at the
   * cost of keeping one core busy while queries run one after another, and for this long after
   * the last. A busy pool never polls. 0 turns it off; at most 10000.
   * @default 200
   */
  busyPollMicros?: number
  /**
   * Server settings applied to every connection at startup, e.g.
   * `{ search_path: 'app,public', timezone: 'UTC', idle_in_transaction_session_timeout: 60000 }`.
   * Refused with `pgbouncer` (PgBouncer refuses the startup parameter they travel in).
   * @default {}
   */
  options?: Record<string, string | number | boolean>
  /**
   * A name for this manager: the `pool` label of every `metrics()` sample and the `pool` field of
   * every log line. Unnamed, samples carry no label.
   */
  name?: string
  /**
   * The most verbose level logged: `'error'`, `'warn'`, `'info'`, `'debug'` (each query with its
   * duration and row count), `'trace'` (every acquire and release), or `'off'`. From the
   * environment, pino's and winston's names are read too (`fatal`, `silent`, `verbose`, …).
   * Environment: `LOG_LEVEL`.
   * @default 'warn'
   */
  logLevel?: LogLevel
  /**
   * Where log lines go instead of stderr: called with the level, a short message
   * (`'query'`, `'slow query'`, `'connection opened'`, …) and the fields (`sql`, `duration_ms`,
   * `rows`, `pid`, `code`, …). Called asynchronously; it never blocks the engine, and a throw is
   * reported once as a process warning.
   * @default lines on stderr
   */
  logger?: Logger
  /**
   * Queries slower than this many milliseconds are logged at `warn` with their SQL text and
   * duration; 0 turns it off.
   * @default 0
   */
  slowQueryMillis?: number
  /**
   * Show parameter values in query logs. Off, they never appear: not as fields and not inside a
   * server error message that quotes one. Passwords never appear either way.
   * @default false
   */
  logParameters?: boolean
  /**
   * libpq's TLS mode: `'disable'` (plain text), `'allow'` (plain, TLS if the server insists),
   * `'prefer'` (TLS if the server offers it, nothing checked), `'require'` (TLS, nothing checked —
   * `'verify-ca'` when a root certificate is given), `'verify-ca'` (the certificate's chain is
   * checked), `'verify-full'` (the chain and the host name). See the README's TLS section.
   * Environment: `DB_SSLMODE`, then `DB_SSL` (`true` = `'require'`), then `PGSSLMODE`.
   * @default 'prefer' ('verify-full' with sslrootcert 'system')
   */
  sslmode?: SslMode
  /**
   * node-postgres's `ssl`: `true` is `'verify-full'` against `ca` or the system's roots,
   * `{ rejectUnauthorized: false }` is `'require'` with nothing checked, `false` is `'disable'`.
   * `sslmode` beside it sets the mode; a contradiction (`ssl: false` with a TLS mode) is
   * INVALID_CONFIG.
   */
  ssl?: boolean | SslOptions
  /**
   * Root certificates that check the server's certificate: a PEM file, or `'system'` for the
   * operating system's trust store (which asks for `'verify-full'`).
   * Environment: `DB_SSLROOTCERT`, then `PGSSLROOTCERT`.
   * @default '~/.postgresql/root.crt' when that file exists
   */
  sslrootcert?: string
  /**
   * Client certificate (PEM file) for certificate authentication; needs `sslkey`.
   * Environment: `DB_SSLCERT`, then `PGSSLCERT`.
   */
  sslcert?: string
  /**
   * Client key (PEM file: PKCS#8, PKCS#1 or SEC1; encrypted PKCS#8 with `sslpassword`).
   * Environment: `DB_SSLKEY`, then `PGSSLKEY`.
   */
  sslkey?: string
  /** Password of an encrypted `sslkey`. Never appears in errors, logs or statistics. */
  sslpassword?: string
  /**
   * SCRAM channel binding (SCRAM-SHA-256-PLUS over TLS): `'require'` refuses a server that does
   * not bind the authentication to the TLS connection.
   * Environment: `PGCHANNELBINDING`.
   * @default 'prefer'
   */
  channelBinding?: 'disable' | 'prefer' | 'require'
  /**
   * `'direct'` starts TLS at once, without asking the server first (PostgreSQL 17 or later;
   * needs sslmode `'require'` or stronger).
   * Environment: `PGSSLNEGOTIATION`.
   * @default 'postgres'
   */
  sslnegotiation?: 'postgres' | 'direct'
}

/** libpq's `sslmode`s. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

/** node-postgres's `ssl` object (the `tls.connect` options that apply to PostgreSQL). */
export interface SslOptions {
  /** `false`: the server's certificate is not checked (`sslmode` `'require'`). @default true */
  rejectUnauthorized?: boolean
  /** Root certificates, PEM. @default the system's roots */
  ca?: string | Buffer | Array<string | Buffer>
  /** Client certificate, PEM. */
  cert?: string | Buffer
  /** Client key, PEM. */
  key?: string | Buffer
  /** Password of an encrypted `key`. */
  passphrase?: string
  /** The name checked against the certificate and sent as SNI, instead of `host`. */
  servername?: string
  /** Accepted for configurations written for hosted databases; TLS is on either way. */
  require?: boolean
}

/** A log level; `'off'` logs nothing. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'off'

/** The `logger` option. */
export type Logger = (level: Exclude<LogLevel, 'off'>, message: string, fields: Record<string, string | number | boolean>) => void

/** Mean, median and 99th percentile over the last 1,000 observations, in milliseconds. */
export interface LatencySummary {
  mean: number
  p50: number
  p99: number
}

/** The last failed call, for `getPoolStatistics().lastError`. */
export interface LastError {
  /** SQLSTATE or client code. */
  code: string
  /** The message, with passwords masked. */
  message: string
  /** When, in milliseconds since the epoch. */
  at: number
}

/** `getPoolStatistics()`: sizes from one consistent look at the pool, and counters since it was made. */
export interface PoolStatistics {
  /** Open connections (node-postgres' name). */
  totalCount: number
  /** Idle connections (node-postgres' name). */
  idleCount: number
  /** Calls waiting for a connection (node-postgres' name). */
  waitingCount: number
  /** Open connections; always `activeConnections + idleConnections`, never above `maxConnections`. */
  totalConnections: number
  /** Connections in the pool, free. */
  idleConnections: number
  /** Connections handed out (one shared by several manager queries counts once). */
  activeConnections: number
  /** Calls waiting for a connection. */
  waitingRequests: number
  /** `max`. */
  maxConnections: number
  /** `min`. */
  minConnections: number
  /** `activeConnections / maxConnections`, in percent. */
  utilization: number
  /** Queries run, whatever their outcome. */
  queriesExecuted: number
  /** Transactions finished by `executeTransaction`, committed or rolled back. */
  transactionsExecuted: number
  /** Calls that failed. */
  errors: number
  /**
   * Acquires that found no idle connection and waited (for a release or a new connection); a
   * query that took a place on a shared connection at once did not wait.
   */
  poolExhaustedCount: number
  /** Connections opened. */
  connectionsCreated: number
  /** Connections closed. */
  connectionsRemoved: number
  /** Time to get a connection (or, for a manager query, a place on a shared one). */
  acquireTime: LatencySummary
  /**
   * Time to run a query, the wait for a connection excluded (on a shared connection, the wait
   * behind the queries ahead of it included).
   */
  queryTime: LatencySummary
  /** The last failure; absent before the first. */
  lastError?: LastError
  /** The circuit breaker: `'open'` while calls that need a new connection fail at once. */
  circuit: 'closed' | 'open' | 'half-open'
  /** Whose defaults apply: `'production'` with `NODE_ENV=production`, else `'development'`. */
  profile: 'development' | 'production'
  /** With `replicas`: the replica pool's statistics (the fields above are the primary's). */
  replica?: PoolStatistics
  /** The LISTEN connection of `listen()` (outside `max`, so not in the counts above). */
  listen: ListenStatistics
}

/** `getPoolStatistics().listen`: the manager's one LISTEN connection. */
export interface ListenStatistics {
  /** Whether it is open with every channel listened in force (false before the first `listen()`, while it reconnects, and after `close()`). */
  connected: boolean
  /** Channels listened, each once however many callbacks it has. */
  channels: number
  /** Times it was re-established after being lost while channels were listened. */
  reconnects: number
  /** Notifications it received (those of channels unlistened in JS but not yet on the server included). */
  notifications: number
}

/** Options of `getHealthStatus()`. */
export interface HealthOptions {
  /**
   * How long the check may take, the wait for a connection included; past it the status is
   * `unhealthy` with code `QUERY_TIMEOUT`.
   * @default 5000
   */
  timeoutMillis?: number
  /** Aborting it stops the wait: the call rejects with an `AbortError`. */
  signal?: AbortSignal
}

/**
 * `getHealthStatus()`. `unhealthy`: the check query could not run within `timeoutMillis`
 * (server down or hung, connection refused, pool closed or too busy). `degraded`: it ran, but
 * requests were waiting for a connection or it took more than 1 s (or half the timeout).
 * `healthy`: otherwise. The server's fields are `null` when unhealthy.
 */
export interface HealthStatus {
  status: 'healthy' | 'degraded' | 'unhealthy'
  /** How long the check took, in milliseconds. */
  responseTimeMs: number
  /** The server's `server_version`, e.g. `'15.14 (Debian 15.14-1.pgdg120+1)'`. */
  serverVersion: string | null
  /** The server's `now()`. */
  databaseTime: Date | null
  /** `current_database()`. */
  database: string | null
  /** `pg_is_in_recovery()`: true on a standby. */
  isReplica: boolean | null
  /** The circuit breaker's state (as in the statistics). */
  circuit: 'closed' | 'open' | 'half-open'
  /** Whether the checked connection is encrypted (`pg_stat_ssl.ssl`). */
  encrypted: boolean | null
  /** Its TLS protocol version and cipher, e.g. `{ version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }`. */
  tls: { version: string; cipher: string } | null
  /** The statistics after the check. */
  pool: PoolStatistics
  /** Why, when unhealthy (`ECONNREFUSED`, `QUERY_TIMEOUT`, `POOL_CLOSED`, `28P01`, …). */
  error?: { code: string; message: string }
  /** With `replicas`: the replica pool's status, checked at the same time (the fields above are the primary's). */
  replica?: HealthStatus
}

/** A health endpoint: answers with a status and JSON (text for `/metrics`); never rejects. */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** Options of `healthHandlers()`. */
export interface HealthHandlersOptions {
  /**
   * `timeoutMillis` of the health checks behind `/health`, `/health/database` and `/ready`.
   * @default 5000
   */
  timeoutMillis?: number
}

/** What `healthHandlers(manager)` returns. */
export interface HealthHandlers {
  /** `/health`: the health status with the pool; 503 when unhealthy. */
  health: HealthHandler
  /** `/health/database`: the health status without the pool; 503 when unhealthy. */
  database: HealthHandler
  /** `/ready`: `{ status: 'ready' | 'not ready', database }`; 503 when unhealthy. */
  ready: HealthHandler
  /** `/live`: always 200 `{ status: 'alive', uptimeSeconds }`; never touches the database. */
  live: HealthHandler
  /** `/status`: 200 `{ status: 'ok', pool }` without a database round trip. */
  status: HealthHandler
  /** `/metrics`: 200 with the Prometheus text (`text/plain; version=0.0.4`). */
  metrics: HealthHandler
  /** The handlers by path: `'/health'`, `'/health/database'`, `'/ready'`, `'/live'`, `'/status'`, `'/metrics'`. */
  routes: Record<string, HealthHandler>
  /**
   * Serves a GET or HEAD of one of the paths and returns true; otherwise calls `next()` if given
   * and returns false. Works as Express middleware (`app.use('/ops', h.handle)`) and in a
   * `node:http` request listener.
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): boolean
}

/**
 * Handlers for a manager's health endpoints, for Express (`app.get('/ready', h.ready)`) or
 * `node:http`; no dependency on Express.
 * @throws {DatabaseError} `INVALID_ARGUMENT` for a bad `timeoutMillis`.
 */
export declare function healthHandlers(manager: DatabaseManager, options?: HealthHandlersOptions): HealthHandlers

/** Why a connection left the pool. */
export type RemoveReason = 'idle' | 'lifetime' | 'maxUses' | 'broken' | 'closed' | 'destroyed' | 'role'

/** The connection an event is about. */
export interface ConnectionInfo {
  /**
   * Server process id of the connection (`pg_backend_pid()`); with `pgbouncer`, whose server
   * process changes with every transaction, a negative number of the pool's own.
   */
  pid: number
  /** `'replica'` for a connection of the replica pool (`replicas`); absent for the primary's. */
  target?: 'replica'
}

/** The second argument of an `error` event. */
export interface ErrorInfo extends ConnectionInfo {
  /** `true` when the error concerns the LISTEN connection (it was lost) or an `onNotification` callback. */
  listen?: true
  /** For a callback that threw: the channel of the notification it was given. */
  channel?: string
}

/** A `listen` event: the LISTEN connection opened, or opened again after it was lost. */
export interface ListenInfo extends ConnectionInfo {
  /** Every channel listened, all in force on this connection. */
  channels: string[]
  /**
   * `true` when it replaces a connection lost while channels were listened: notifications sent
   * in between were missed (the server keeps none for a session that is gone), so re-read what
   * they would have told you.
   */
  reconnected: boolean
}

/** A notification, as pg's `notification` event gives it. */
export interface Notification {
  /** The channel, as given to `listen()`. */
  channel: string
  /** The payload; `''` when none was sent. */
  payload: string
  /** Server process id of the session that sent it. */
  processId: number
}

/** A `remove` event. */
export interface RemoveInfo extends ConnectionInfo {
  /** Why the connection was closed. */
  reason: RemoveReason
}

/** Options of `close()`. */
export interface CloseOptions {
  /**
   * How long to wait for queries in flight. Past it, their statements are cancelled on the
   * server, their connections closed, and those calls reject with `POOL_CLOSED`.
   * @default no limit
   */
  timeoutMillis?: number
}

/** Options of `waitForDatabase()`. */
export interface WaitForDatabaseOptions {
  /**
   * How long to keep trying before rejecting with `CONNECT_TIMEOUT`. Each attempt goes through
   * an open circuit breaker, and closes it when it succeeds.
   * @default 30000
   */
  timeoutMillis?: number
  /** Aborting it stops the wait: the call rejects with an `AbortError`. */
  signal?: AbortSignal
}

/** One column of a result, as node-postgres describes it. */
export interface FieldDef {
  /** Column name. */
  name: string
  /** OID of the table the column comes from, or 0. */
  tableID: number
  /** Attribute number of the column in that table, or 0. */
  columnID: number
  /** OID of the column's type. */
  dataTypeID: number
  /** `typlen` of the type; -1 for variable length. */
  dataTypeSize: number
  /** Type modifier, e.g. the length of `varchar(n)`; -1 when none. */
  dataTypeModifier: number
  /** Always `'text'`: values are what node-postgres gives for the text format. */
  format: 'text'
}

/** The result of one statement. */
export interface QueryResult<R = any> {
  /** The command of the statement: `'SELECT'`, `'INSERT'`, `'CREATE'`, …; `null` for an empty query. */
  command: string | null
  /** Rows returned or affected; `null` for commands that report no count (e.g. `CREATE`). */
  rowCount: number | null
  /** For `INSERT`, 0 (tables have no OIDs since PostgreSQL 12); otherwise `null`. */
  oid: number | null
  /** The rows: objects keyed by column name, or arrays with `rowMode: 'array'`. */
  rows: R[]
  /** Column metadata, in column order. */
  fields: FieldDef[]
  /** Whether rows are arrays. */
  rowAsArray: boolean
}

/** A query as one object, like node-postgres' query config. */
export interface QueryConfig {
  /** The SQL text, with `$1`, `$2`, … placeholders. */
  text: string
  /** Values for the placeholders. */
  values?: readonly unknown[]
  /** `'array'` returns each row as an array of values in column order. */
  rowMode?: 'array'
  /**
   * Client-side limit of this query in milliseconds, the wait for a connection included: past
   * it the query rejects with `QUERY_TIMEOUT` and a statement already sent is cancelled on the
   * server. 0 lifts `queryTimeoutMillis` for this query. A limited query never shares a
   * pipelined connection with others (its cancel must not hit them).
   * @default the manager's `queryTimeoutMillis`
   */
  timeoutMillis?: number
  /**
   * Aborting it gives up the wait for a connection or cancels the statement on the server; the
   * query rejects with an `AbortError` (`code: 'ABORT_ERR'`, `cause`: the signal's reason), at
   * once if the signal has already fired.
   */
  signal?: AbortSignal
  /**
   * This query's parsers, as node-postgres' per-query `types`, replacing the manager's: each
   * column's parser is `getTypeParser(dataTypeID, 'text')`. Types the engine decodes itself
   * (int2, int4, oid, float4, float8, bool, json, jsonb, bytea, timestamptz) keep their value
   * unless it names a parser other than pg-types' default; that parser gets the value's text
   * (numbers as JS writes them, timestamptz in UTC to the millisecond).
   * @default the manager's `types`
   */
  types?: CustomTypes
  /** With `replicas`: run it on a replica while one is usable (see `QueryOptions`). */
  readOnly?: boolean
}

/** The third argument of `query(text, values, options)`. */
export interface QueryOptions {
  /**
   * With `replicas`: run the query on a replica while one is reachable (and within
   * `maxReplicaLagMillis`), else on the primary; a query that could not reach the replica runs
   * on the primary. Without `replicas` it changes nothing.
   * @default false
   */
  readOnly?: boolean
}

/** The options of `stream()`: `stream(text, values, options)`, or in its config object. */
export interface StreamOptions {
  /**
   * Rows per batch: each `next()` of the stream fetches this many from the server (`FETCH
   * FORWARD n`), and memory holds about one batch, whatever the result's size.
   * @default 100
   */
  batchSize?: number
  /** `'array'` gives each row as an array of values in column order. */
  rowMode?: 'array'
  /** The stream's parsers, as `QueryConfig.types`. @default the manager's `types` */
  types?: CustomTypes
  /**
   * Aborting it stops the stream: a batch running on the server is cancelled, the stream's
   * transaction block rolled back and its connection handed back; the next `next()` rejects with
   * an `AbortError` (`code: 'ABORT_ERR'`, `cause`: the signal's reason).
   */
  signal?: AbortSignal
  /**
   * Limit of each round trip of the stream in milliseconds (the open, the wait for a connection
   * included, and each batch's fetch), not of the whole stream: past it the statement is
   * cancelled and the call rejects with `QUERY_TIMEOUT`. 0 lifts it.
   * @default the manager's `queryTimeoutMillis`
   */
  timeoutMillis?: number
}

/** A stream's query as one object (`stream(config)`). */
export interface StreamConfig extends StreamOptions {
  /** The SQL text: one query (`SELECT`, `VALUES`, `TABLE`, `WITH … SELECT`), `$1`, `$2`, … placeholders. */
  text: string
  /** Values for the placeholders. */
  values?: readonly unknown[]
}

/**
 * A query's rows in batches, from `manager.stream()` or `client.stream()`: an async iterable of
 * row arrays, each fetched from the server when the loop asks for it, so memory holds about one
 * batch. It holds one connection (and, outside the caller's transaction, a transaction block of
 * its own) until it ends: read to the end, `break` (which calls `return()`), `close()`, an
 * error, or an abort. Rows are those `query()` gives. One consumer at a time.
 */
export interface RowStream<R = any> extends AsyncIterableIterator<R[]> {
  /** The next batch (`{ done: false, value: rows }`), or `{ done: true }` after the last. */
  next(): Promise<IteratorResult<R[], undefined>>
  /**
   * Stops the stream: its cursor is closed on the server at once (nothing is drained), its
   * transaction block committed, and a manager stream's connection handed back.
   */
  return(): Promise<IteratorResult<R[], undefined>>
  /** Stops the stream, as `return()`; resolves once its connection is clean. */
  close(): Promise<void>
  /** The rows as a `Readable` in object mode, one row per chunk, a batch fetched as it drains. */
  readable(): Readable
  /** Column metadata; `undefined` until the first batch has come. */
  readonly fields: FieldDef[] | undefined
  /** Rows of the whole query; `null` until the last batch has come. */
  readonly rowCount: number | null
  /** `'SELECT'` once the last batch has come; `null` before. */
  readonly command: string | null
}

/** node-postgres' per-query `types`: a parser for each type OID. */
export interface CustomTypes {
  getTypeParser(oid: number, format?: 'text' | 'binary'): TypeParser
}

/** The fields the server gives an error or a notice, where it gives them. */
export interface ServerFields {
  /** Server severity (`ERROR`, `FATAL`, …). */
  severity?: string
  /** Server detail, e.g. `Key (id)=(1) already exists.` */
  detail?: string
  /** Server hint. */
  hint?: string
  /** 1-based character position of the error in the query text. */
  position?: string
  /** Position in an internally generated query. */
  internalPosition?: string
  /** The internally generated query. */
  internalQuery?: string
  /** Context in which the error happened (PL/pgSQL call stack). */
  where?: string
  /** Schema of the object concerned. */
  schema?: string
  /** Table concerned. */
  table?: string
  /** Column concerned. */
  column?: string
  /** Data type concerned. */
  dataType?: string
  /** Constraint violated. */
  constraint?: string
  /** Server source file. */
  file?: string
  /** Server source line. */
  line?: string
  /** Server source routine. */
  routine?: string
  /**
   * The line of a COPY's data the error is about, 1-based, from `where` (`COPY t, line 42, column
   * n: "abc"`), which the message then ends with too.
   */
  copyLine?: number
}

/**
 * Every error this package reports. `code` is the SQLSTATE for server errors (as in
 * node-postgres) or one of the client codes: `POOL_CLOSED`, `POOL_TIMEOUT`, `POOL_DEADLOCK`,
 * `CONNECT_TIMEOUT`, `QUERY_TIMEOUT`, `ABORT_ERR` (with `name` `'AbortError'`), `NOTIFICATION_CALLBACK_ERROR` (an `error` event's only), `CONNECTION_CLOSED`, `CONNECTION_ERROR` (or the OS error name such as
 * `ECONNREFUSED`), `CLIENT_RELEASED`, `TRANSACTION_TIMEOUT`, `TRANSACTION_ON_POOL` (a manager query that would
 * leave a transaction open), `INVALID_ARGUMENT`,
 * `INVALID_CONFIG`, `DECODE_ERROR`, `RESULT_TOO_LARGE` (a value longer than a JS string can
 * be), `INTERNAL_ERROR`. The stack starts at the line that called
 * the package (for a query or a transaction, at the code that awaits it).
 */
export declare class DatabaseError extends Error {
  /** SQLSTATE or client code. */
  code: string
  /** For `ABORT_ERR`, the signal's reason; for `NOTIFICATION_CALLBACK_ERROR`, what the callback threw. */
  cause?: unknown
}

/** DatabaseError carries the server's fields (declaration merging with the class above). */
export interface DatabaseError extends ServerFields {}

/** Options of `copyFrom()` and `copyTo()`. */
export interface CopyOptions {
  /**
   * The stream's buffer in bytes: past it a `copyFrom()` stream's `write()` returns false, and a
   * `copyTo()` stream reads no further ahead. Besides it, the engine holds at most 4 of its
   * batches of a `copyFrom()`, and one batch (at most 64 KiB) of a `copyTo()`.
   * @default 65536
   */
  highWaterMark?: number
  /** Aborting it destroys the stream with an `AbortError`, as `destroy()` does. */
  signal?: AbortSignal
}

/**
 * The Writable of `copyFrom()`: Buffers or strings of the COPY's data, in the statement's format
 * (CSV, text or binary), cut anywhere. `'finish'` fires once the server has loaded every row; a
 * server error (a bad row: SQLSTATE and `copyLine`) comes as `'error'` when the stream ends,
 * with nothing loaded. `destroy()` (or the `signal`) before `end()` stops the COPY: the server
 * fails it (CopyFail), nothing stays, and `'close'` fires once the connection is back, clean
 * (inside a transaction, which the failure aborts). After `end()` the COPY completes or fails on
 * its own.
 */
export interface CopyFromStream extends Writable {
  /** The number of rows the server loaded; `null` until `'finish'`. */
  readonly rowCount: number | null
}

/**
 * The Readable of `copyTo()`: Buffers of the COPY's data in the statement's format, read from
 * the connection only as fast as they are consumed. A server error comes as `'error'`.
 * `destroy()` before the end cancels the COPY; the connection stays if the server ends it by that
 * cancel within `cancelTimeoutMillis`, else it is closed.
 */
export interface CopyToStream extends Readable {}

/**
 * A connection checked out of the pool by `getClient()`, or the client an `executeTransaction`
 * callback receives. Its queries run on one connection, in the order they were called.
 */
export interface PoolClient {
  /**
   * Runs one query on this client's connection, with the same semantics as
   * `DatabaseManager.query`. After `release()` it rejects with `CLIENT_RELEASED`.
   */
  query<R = any>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>
  /** Runs one query given as an object. */
  query<R = any>(config: QueryConfig): Promise<QueryResult<R>>
  /**
   * A stream of a query's rows on this client's connection, after the calls before it: inside
   * the client's transaction (e.g. in `executeTransaction`) it reads what the transaction sees
   * and leaves it open; outside one it runs in a transaction block of its own until it ends
   * (queries called on the client meanwhile run in that block). See `RowStream`.
   * @throws {DatabaseError} `INVALID_ARGUMENT` as `DatabaseManager.stream`; after `release()`,
   * `next()` rejects with `CLIENT_RELEASED`.
   */
  stream<R = any>(text: string, values?: readonly unknown[], options?: StreamOptions): RowStream<R>
  /** A stream of a query given as an object. */
  stream<R = any>(config: StreamConfig): RowStream<R>
  /**
   * Gives the connection back to the pool, after the queries already called. A transaction
   * still open (or aborted) is rolled back first; if that fails the connection is closed.
   * `release(true)` or `release(error)` closes the connection instead. Throws `CLIENT_RELEASED`
   * when called a second time. The promise resolves once the connection is back (or closed)
   * and never rejects.
   */
  release(err?: Error | boolean): Promise<void>
  /**
   * Runs `sql`, one `COPY … FROM STDIN` statement, on this client's connection after the queries
   * already called; queries called after it wait until its stream is over. In a transaction its
   * rows are the transaction's. See `DatabaseManager.copyFrom`.
   * @throws {DatabaseError} `INVALID_ARGUMENT` for `sql` that is not a string, or bad options.
   */
  copyFrom(sql: string, options?: CopyOptions): CopyFromStream
  /**
   * Runs `sql`, one `COPY … TO STDOUT` statement, on this client's connection, in turn as
   * `copyFrom` does. See `DatabaseManager.copyTo`.
   * @throws {DatabaseError} `INVALID_ARGUMENT` for `sql` that is not a string, or bad options.
   */
  copyTo(sql: string, options?: CopyOptions): CopyToStream
  /**
   * The server process id of this client's connection, as pg's `client.processID`; `null`
   * before a transaction's first query checks its connection out, and after `release()`.
   */
  readonly processID: number | null
}

/** Options of `executeTransaction`. */
export interface TransactionOptions {
  /**
   * Aborting it ends the transaction as `timeoutMillis` does: the running statement is cancelled
   * on the server, the transaction rolled back, and the call rejects with an `AbortError`
   * (`code: 'ABORT_ERR'`, `cause`: the signal's reason).
   */
  signal?: AbortSignal
  /**
   * The transaction's isolation level (`BEGIN ISOLATION LEVEL …`).
   * @default the server's `default_transaction_isolation`, normally 'read committed'
   */
  isolationLevel?: 'read committed' | 'repeatable read' | 'serializable'
  /**
   * `true` begins `READ ONLY` (a write then fails with `25006`), `false` begins `READ WRITE`.
   * With `replicas`, `true` also runs it on a replica while one is usable; if the replica
   * cannot be reached, the whole transaction (the callback included) runs again on the primary.
   * @default the server's `default_transaction_read_only`
   */
  readOnly?: boolean
  /**
   * `true` begins `DEFERRABLE` (meaningful with `serializable` and `readOnly`), `false`
   * `NOT DEFERRABLE`.
   * @default the server's `default_transaction_deferrable`
   */
  deferrable?: boolean
  /**
   * How many times to run the whole callback again, on a fresh transaction, after a
   * serialization failure (`40001`) or a deadlock (`40P01`), waiting a random time up to
   * 50 ms · 2^n (at most 2 s) before retry n.
   * @default 0
   */
  retries?: number
  /**
   * Longest time one attempt may take from the call of the callback (waiting for a connection
   * included) until it settles, in milliseconds.
   * Past it a wait for the connection is given up, the running statement is cancelled on the
   * server, the transaction is rolled back, and the call rejects with `TRANSACTION_TIMEOUT`.
   * 0 means no limit.
   * @default 0
   */
  timeoutMillis?: number
}

/**
 * The `'leak'` event's argument: a client was held longer than `leakDetectionThreshold`
 * (`reason: 'held'`), or was garbage-collected without `release()` (`reason: 'unreachable'`).
 * Its `stack` is that of the code that acquired the client (for `executeTransaction`, recorded
 * only while `leakDetectionThreshold` is set).
 */
export declare class LeakWarning extends Error {
  name: 'LeakWarning'
  /** Why it is reported. */
  reason: 'held' | 'unreachable'
  /** How long the client had been held, in milliseconds. */
  heldMillis: number
}

/**
 * The events of a DatabaseManager and their listeners' arguments: `on`, `once`, `off`… are typed
 * by them, so a misspelled event or a wrong listener does not compile (needs @types/node ≥ 20.12).
 */
export interface DatabaseManagerEvents {
  /** A new physical connection was opened. */
  connect: [info: ConnectionInfo]
  /** A connection was handed out: to a client, or to manager queries (up to eight share one, 32 quick ones). */
  acquire: [info: ConnectionInfo]
  /** A connection came back to the pool. */
  release: [info: ConnectionInfo]
  /** A connection was closed, with the reason. */
  remove: [info: RemoveInfo]
  /**
   * An idle connection failed (the server ended it, the network dropped it), or the server
   * ended one a client held between queries; or the LISTEN connection was lost (`info.listen`;
   * it reconnects while channels are listened), or an `onNotification` callback threw or
   * rejected (`code: 'NOTIFICATION_CALLBACK_ERROR'`, `cause`: what it threw, `info.channel`).
   * Without a listener this is printed as a warning, never thrown.
   */
  error: [error: DatabaseError, info: ErrorInfo]
  /** A client was held past `leakDetectionThreshold`, or collected without `release()`. */
  leak: [warning: LeakWarning]
  /** The circuit breaker opened after `failureThreshold` failed connection attempts in a row; the last one's error. */
  circuitOpen: [error: DatabaseError]
  /** A connection attempt succeeded and the circuit breaker closed again. */
  circuitClose: []
  /**
   * The server sent a notice or warning on a connection (`RAISE NOTICE`, "already exists,
   * skipping"), shaped as node-postgres passes notices.
   */
  notice: [notice: Notice, info: ConnectionInfo]
  /**
   * The LISTEN connection opened with every channel listened in force; with `reconnected: true`
   * after it was lost, when notifications may have been missed.
   */
  listen: [info: ListenInfo]
}

/** A NOTICE or WARNING from the server, as node-postgres's `notice` event gives it (not an Error). */
export interface Notice extends ServerFields {
  name: 'notice'
  message: string
  /** `NOTICE`, `WARNING`, `INFO`, `LOG`, `DEBUG` (localized by the server). */
  severity: string
  /** SQLSTATE: `00000` for a plain RAISE NOTICE, `01000` for a warning, `42P07`… */
  code: string
}

/** A pool of PostgreSQL connections with a Rust engine. */
export declare class DatabaseManager extends EventEmitter<DatabaseManagerEvents> {
  /**
   * Resolves the options (options > `connectionString` > environment > defaults) and builds the
   * pool; no connection opens until the first query or `initialize()`.
   * @throws {DatabaseError} `INVALID_CONFIG`, naming the option, when an option is wrong.
   */
  constructor(options?: DatabaseManagerOptions)
  /**
   * Opens `min` connections (at least one) now and runs a check query; rejects with the
   * server's or the network's error (e.g. `28P01` for a wrong password, `ECONNREFUSED`) when
   * the database cannot be used.
   */
  initialize(): Promise<void>
  /**
   * Retries connecting, waiting 100 ms and then 1.5× longer each time (at most 500 ms apart, so a database that comes up is noticed within a second), until the
   * server accepts a connection; for containers that start before their database. Rejects with
   * `CONNECT_TIMEOUT`, naming the number of attempts and the last error, after `timeoutMillis`.
   */
  waitForDatabase(options?: WaitForDatabaseOptions): Promise<void>
  /**
   * Runs one query on a pooled connection. A string without values that holds several
   * statements resolves to an array of results, one per statement. With every connection busy,
   * a single statement may share one that other manager queries run on (pipelined, at most eight
   * per hand-out, 32 for quick ones) rather than wait; a quick one may before an idle connection
   * is taken (see `pipelineQuickQueries`). `options.readOnly` (or `readOnly` in the config) sends it
   * to a replica (see `replicas`).
   */
  query<R = any>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>
  /** Runs one query given as an object. */
  query<R = any>(config: QueryConfig): Promise<QueryResult<R>>
  /**
   * A query's rows in batches of `batchSize` on a connection of its own, held until the stream
   * ends (see `RowStream`): `for await (const rows of manager.stream(text, values, { batchSize }))`.
   * The server runs the query only as far as the loop has read it. Opening starts at once;
   * its errors reject the first `next()`: `POOL_CLOSED`, `POOL_TIMEOUT`, the server's, and
   * `INVALID_ARGUMENT` for a text that is not one query or values that do not match it.
   * @throws {DatabaseError} `INVALID_ARGUMENT` for a `batchSize` that is not a whole number from
   * 1 to 2147483647, a text that is not a string, or values that cannot be sent.
   */
  stream<R = any>(text: string, values?: readonly unknown[], options?: StreamOptions): RowStream<R>
  /** A stream of a query given as an object. */
  stream<R = any>(config: StreamConfig): RowStream<R>
  /**
   * Checks out a connection for several queries in a row. Release it with `client.release()`
   * in a `finally` block. Code that holds the client (the async context that called
   * `getClient()`) and asks this manager for another connection waits like any caller, but
   * gets `POOL_DEADLOCK` at once when every connection is held by code waiting so (a deadlock).
   * Aborting `signal` gives up the wait for a
   * connection (one that comes later goes straight back) with an `AbortError`. With `replicas`,
   * `readOnly: true` checks out a replica's connection while one is usable, else the primary's.
   */
  getClient(options?: { signal?: AbortSignal; readOnly?: boolean }): Promise<PoolClient>
  /**
   * Runs `fn` in a transaction: `BEGIN` (with `options`), `await fn(client)`, `COMMIT`, and
   * resolves to what `fn` returned. The first query `fn` runs checks out the connection and
   * sends `BEGIN` before itself, in the same round trip; if either fails (e.g. `POOL_TIMEOUT`),
   * that query and the call reject with its error. A callback that runs no query takes no
   * connection. After `close()` it rejects with `POOL_CLOSED` without calling `fn`. If `fn` throws or
   * rejects, or `COMMIT` fails, it rolls back and rejects with that same error; if the rollback
   * fails the connection is closed.
   * Inside `fn`, use `client`: asking the manager for another connection waits like any caller,
   * and rejects with `POOL_DEADLOCK` when every connection is held by code waiting so.
   */
  executeTransaction<T>(fn: (client: PoolClient) => T | Promise<T>, options?: TransactionOptions): Promise<T>
  /**
   * Runs the queries in order in one transaction and resolves to their results: all of them
   * apply, or none and it rejects with the failing query's error.
   */
  executeTransaction(queries: ReadonlyArray<QueryConfig | string>, options?: TransactionOptions): Promise<QueryResult[]>
  /**
   * Stops new work, waits for queries in flight and for every client to be released (see
   * `timeoutMillis`), closes every connection, and resolves once the server has let them go and
   * their events have reached the listeners.
   * Later calls reject with `POOL_CLOSED`; calling `close()` again resolves when the first close
   * has finished.
   */
  close(options?: CloseOptions): Promise<void>
  /** Sizes, counters and recent latencies of the pool; synchronous and cheap. */
  getPoolStatistics(): PoolStatistics
  /**
   * Runs a check query within `timeoutMillis` and judges the database and the pool. Resolves even
   * when the server is down or hung; rejects only with `INVALID_ARGUMENT` for a bad
   * `timeoutMillis`.
   */
  getHealthStatus(options?: HealthOptions): Promise<HealthStatus>
  /** The statistics in the Prometheus text exposition format, names under `pg_rust_pool_`. */
  metrics(): string
  /**
   * Calls `onNotification` for every notification on `channel` (a name as given: case, spaces
   * and quotes are kept; at most 63 bytes), in the order the server sent them. Resolves, once
   * `LISTEN` is in force on the server, to a function that stops it; the last one of a channel
   * sends `UNLISTEN`. Every channel of the manager shares one connection, outside `max`, opened
   * by the first call; lost, it is opened again (at once, then at most 500 ms apart), listens
   * again, and emits `listen` with `reconnected: true`. A callback that throws or rejects is
   * reported as an `error` event. While any channel is listened the process stays alive.
   * @throws {DatabaseError} `INVALID_ARGUMENT` for an empty name, one with a NUL or longer than
   * 63 bytes, or a callback that is not a function; `POOL_CLOSED` after `close()`; the connect
   * error when the connection cannot be opened now.
   */
  listen(channel: string, onNotification: (notification: Notification) => void | Promise<void>): Promise<() => Promise<void>>
  /**
   * Sends a notification (`SELECT pg_notify(channel, payload)`) from a pooled connection, outside
   * any transaction; inside one, run that query on its client so it is sent at commit.
   * @throws {DatabaseError} `INVALID_ARGUMENT` as for `listen()`; `22023` for a payload of 8000
   * bytes or more (the server's limit).
   */
  notify(channel: string, payload?: string): Promise<void>
  /**
   * Runs `sql`, one `COPY … FROM STDIN` statement, on a connection checked out for it until the
   * stream is over (without waiting, as `getClient()`, when the calling code holds a client of
   * this manager): a Writable of the data, e.g. `await pipeline(fs.createReadStream(file),
   * db.copyFrom('COPY t FROM STDIN (FORMAT csv)'))`. Any other statement fails the stream with
   * `INVALID_ARGUMENT` (`query()` refuses COPY … STDIN/STDOUT and points here).
   * @throws {DatabaseError} `INVALID_ARGUMENT` for `sql` that is not a string, or bad options.
   */
  copyFrom(sql: string, options?: CopyOptions): CopyFromStream
  /**
   * Runs `sql`, one `COPY … TO STDOUT` statement (`COPY t TO STDOUT`, `COPY (SELECT …) TO
   * STDOUT`), on a connection checked out for it until the stream is over: a Readable of the data.
   * @throws {DatabaseError} `INVALID_ARGUMENT` for `sql` that is not a string, or bad options.
   */
  copyTo(sql: string, options?: CopyOptions): CopyToStream
  /**
   * Whether the last attempt to reach the server (a connect, a query) succeeded: false before
   * the first and while the database is down. With `waitForDatabase()`, lets a service start
   * without its database and say so.
   */
  readonly isConnected: boolean
  /** `DatabaseManager(user@host:port/database sslmode=… profile=…)`, never the password. */
  toString(): string
}
