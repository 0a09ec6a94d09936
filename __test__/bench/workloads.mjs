// The data set, the five workloads of issue 7, the TLS variants of W1 and W2 (issue 19), W6's
// stream of 2,000,000 rows (issue 26), and
// one small adapter per client so that every client runs the same SQL with the same values. Every
// operation checks its result: a client that returns nothing (or the wrong thing) throws instead
// of looking fast. Each workload also says what pgbench runs for it (issue 27): the same
// statements, from the same SQL below, with pgbench's variables in place of $1, $2, ….
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { COPY_ROWS } from './copy.mjs'

const require = createRequire(import.meta.url)

export const CLIENTS = ['pg-rust-pool', 'pg-rust-pool/pg', 'pg', 'postgres.js']
export const POOL_SIZE = 10
export const USERS = 100000
const WIDE_ROWS = 10000
/** W6: the rows streamed, and the batch size every client reads them in. */
export const STREAM_ROWS = 2000000
const STREAM_BATCH = 1000
/** W6's table; the bench drops it only when it carries MARK, as `users`. */
export const STREAM_TABLE = 'bench_stream'

/** The statements that (re)create the data set; deterministic, set-based, a few seconds. */
export const LOAD = [
  'DROP TABLE IF EXISTS events, users',
  `CREATE TABLE users (
     id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL,
     balance numeric(12,2) NOT NULL, profile jsonb NOT NULL, active bool NOT NULL)`,
  `INSERT INTO users
   SELECT i, 'User ' || i, 'user' || i || '@example.com',
          timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
          ((i * 7919) % 1000000) / 100.0,
          jsonb_build_object('age', 18 + i % 60, 'city', (ARRAY['Paris', 'Lagos', 'Lima', 'Oslo', 'Pune'])[1 + i % 5],
                             'tags', jsonb_build_array('t' || i % 7, 't' || i % 11), 'score', (i % 1000) / 10.0),
          i % 3 <> 0
   FROM generate_series(1, ${USERS}) AS i`,
  `CREATE TABLE events (id bigserial PRIMARY KEY, user_id int NOT NULL, kind text NOT NULL, payload jsonb NOT NULL)`,
  `COMMENT ON TABLE users IS 'pg-rust-pool bench'`,
  'VACUUM ANALYZE users',
]

/**
 * W6's table, made only when W6 runs: `users`' seven columns (int, two texts, timestamptz,
 * numeric, jsonb, bool) over STREAM_ROWS rows, about 300 MB.
 */
export const LOAD_STREAM = [
  `DROP TABLE IF EXISTS ${STREAM_TABLE}`,
  `CREATE TABLE ${STREAM_TABLE} AS
   SELECT i AS id, 'User ' || i AS name, 'user' || i || '@example.com' AS email,
          timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute' AS created_at,
          (((i::bigint * 7919) % 1000000) / 100.0)::numeric(12,2) AS balance,
          jsonb_build_object('age', 18 + i % 60, 'city', (ARRAY['Paris', 'Lagos', 'Lima', 'Oslo', 'Pune'])[1 + i % 5]) AS profile,
          i % 3 <> 0 AS active
   FROM generate_series(1, ${STREAM_ROWS}) AS i`,
  `COMMENT ON TABLE ${STREAM_TABLE} IS 'pg-rust-pool bench'`,
  `VACUUM ANALYZE ${STREAM_TABLE}`,
]

/** The balance, in cents, that LOAD gives user `id` (the same formula). */
const initialCents = (id) => (id * 7919) % 1000000
const cents = (numeric) => Math.round(Number(numeric) * 100)

/** mulberry32: a seeded PRNG, so every client gets the same sequence of ids. */
export function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
export const randomId = (random) => 1 + Math.floor(random() * USERS)

function check(ok, what, got) {
  if (!ok) throw new Error(`wrong result: expected ${what}, got ${JSON.stringify(got)?.slice(0, 300)}`)
}

/** The statements of the workloads, $n placeholders in order; pgbench's scripts are made from the same text. */
export const SQL = {
  point: 'SELECT $1::int AS x',
  user: 'SELECT id, name, email, created_at FROM users WHERE id = $1',
  wide: `SELECT * FROM users WHERE id <= ${WIDE_ROWS}`,
  update: 'UPDATE users SET balance = balance + 1 WHERE id = $1',
  balance: 'SELECT balance FROM users WHERE id = $1',
  insert: 'INSERT INTO events(user_id, kind, payload) VALUES ($1, $2, $3)',
  stream: (rows) => `SELECT * FROM ${STREAM_TABLE} WHERE id <= ${rows}`,
}

/**
 * W6: streams the first `rows` rows of STREAM_TABLE in batches of STREAM_BATCH, summing their
 * ids, and checks the count and the sum (the ids are 1 to `rows`, in any order).
 */
function streamWorkload(rows, title) {
  return {
    title, concurrency: 1, rows, once: true, perRow: true, measureProcess: true, reps: 2,
    async op(db) {
      if (!db.stream) throw new Error('no stream API')
      const { count, sum } = await db.stream(SQL.stream(rows), STREAM_BATCH)
      check(count === rows && sum === (rows * (rows + 1)) / 2, `the ${rows} rows of ids 1 to ${rows}`, { count, sum })
    },
  }
}

/** W5's JSON payload of user `id`: about 100 bytes. */
export const payload = (id) => ({ userId: id, page: `/products/${id % 977}`, referrer: 'https://example.com/', at: 1700000000 + id, ok: true })

/**
 * A pgbench script: `\set` lines for `sets` ({ name: expression }), then each statement of
 * `statements` ([sql, name of $1, name of $2, …]) with `:name` for its placeholders, which
 * pgbench -M prepared sends as parameters of a prepared statement, as the clients do.
 */
function pgbenchScript(sets, statements) {
  const lines = Object.entries(sets).map(([name, expression]) => `\\set ${name} ${expression}`)
  for (const [sql, ...names] of statements) lines.push(`${sql.replace(/\$(\d+)/g, (_, n) => `:${names[n - 1]}`)};`)
  return lines.join('\n') + '\n'
}
const RANDOM_ID = `random(1, ${USERS})`

// Balances each W4 worker saw, so an UPDATE that did nothing is caught.
const seenCents = new Map()

/**
 * Each workload: `concurrency` operations in flight, each `op(db, random)` one operation that
 * checks its own result; `rows` makes the rate rows/s instead of operations/s; `tls` runs it
 * against the TLS server, every client verifying it fully. `pgbench` is the same operation as a
 * pgbench script, with `define` its -D variables (strings, which pgbench's `\set` cannot make).
 */
export const WORKLOADS = {
  W1: {
    title: 'W1 point latency', concurrency: 1,
    async op(db, random) {
      const x = Math.floor(random() * 1e9)
      const { rows } = await db.query(SQL.point, [x])
      check(rows.length === 1 && rows[0].x === x, `x = ${x}`, rows)
    },
    pgbench: { script: pgbenchScript({ x: 'random(0, 999999999)' }, [[SQL.point, 'x']]) },
  },
  W2: {
    title: 'W2 point throughput', concurrency: 64,
    async op(db, random) {
      const id = randomId(random)
      const { rows } = await db.query(SQL.user, [id])
      check(rows.length === 1 && rows[0].id === id, `the row of id ${id}`, rows)
    },
    pgbench: { script: pgbenchScript({ id: RANDOM_ID }, [[SQL.user, 'id']]) },
  },
  W3: {
    title: 'W3 wide result', concurrency: 1, rows: WIDE_ROWS, measureProcess: true,
    async op(db) {
      const { rows } = await db.query(SQL.wide)
      // Without ORDER BY the rows come in heap order, which W4's updates change: check the ids as
      // a set (distinct, as a primary key, so their count and sum pin them down).
      let sum = 0
      for (const row of rows) sum += row.id
      check(rows.length === WIDE_ROWS && sum === (WIDE_ROWS * (WIDE_ROWS + 1)) / 2, `the ${WIDE_ROWS} rows of ids 1 to ${WIDE_ROWS}`, rows.length)
    },
    pgbench: { script: pgbenchScript({}, [[SQL.wide]]) },
  },
  W4: {
    title: 'W4 transactions', concurrency: 16, transaction: true,
    async op(db, random) {
      const id = randomId(random)
      // A committed earlier transaction on this id must show: the balance only goes up.
      const floor = Math.max(seenCents.get(id) ?? 0, initialCents(id))
      const { rows } = await db.transaction(async (tx) => {
        await tx.query(SQL.update, [id])
        return tx.query(SQL.balance, [id])
      })
      const balance = rows.length === 1 ? cents(rows[0].balance) : NaN
      check(balance >= floor + 100, `a balance of user ${id} of at least ${(floor + 100) / 100}`, rows)
      seenCents.set(id, Math.max(balance, seenCents.get(id) ?? 0))
    },
    pgbench: { script: pgbenchScript({ id: RANDOM_ID }, [['BEGIN'], [SQL.update, 'id'], [SQL.balance, 'id'], ['COMMIT']]) },
  },
  W5: {
    title: 'W5 insert', concurrency: 16,
    async op(db, random) {
      const id = randomId(random)
      const { rowCount } = await db.query(SQL.insert, [id, 'view', payload(id)])
      check(rowCount === 1, 'rowCount 1', rowCount)
    },
    // The same payload in every row (a middling id's, as the clients' JSON.stringify writes it):
    // pgbench's variables hold numbers, or strings given with -D.
    pgbench: {
      script: pgbenchScript({ id: RANDOM_ID }, [[SQL.insert, 'id', 'kind', 'payload']]),
      define: { kind: 'view', payload: JSON.stringify(payload(USERS / 2)) },
    },
  },
  // COPY in (issue 26): not an operation in a loop but one load of a file per run (copy.mjs).
  W7: { title: 'W7 COPY in, 1,000,000 CSV rows', copy: true, rows: COPY_ROWS, measureProcess: true },
}
// W6: one stream of 2,000,000 rows per run, in a fresh process; and 20,000 rows, whose process's
// peak RSS the big one's is compared with (issue 26: under 1.5×, memory bounded by the batch).
// (Thousands grouped by hand: toLocaleString would load ICU's locale data into every child, ~8 MB
// of the peak RSS that W3 and W6 report.)
const grouped = (n) => String(n).replace(/\B(?=(\d{3})+$)/g, ',')
WORKLOADS.W6 = streamWorkload(STREAM_ROWS, `W6 stream ${grouped(STREAM_ROWS)} rows, batches of ${grouped(STREAM_BATCH)}`)
WORKLOADS['W6-20k'] = streamWorkload(20000, `W6 stream 20,000 rows, batches of ${grouped(STREAM_BATCH)}`)

// The same operations over TLS: what encryption costs each client per query.
for (const name of ['W1', 'W2']) {
  WORKLOADS[`${name}-TLS`] = { ...WORKLOADS[name], title: `${WORKLOADS[name].title}, TLS verify-full`, tls: true }
}

/** Throws unless `db`'s connection runs over TLS, so that a TLS workload never measures plain text. */
export async function expectTls(db) {
  const { rows } = await db.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  check(rows.length === 1 && rows[0].ssl === true, 'ssl = true in pg_stat_ssl', rows)
}

/**
 * Opens a pool of `max` (POOL_SIZE) connections with the client's defaults otherwise; with `ca` (the path
 * of a CA certificate), over TLS, verifying the server's certificate against it and its host
 * name. Returns { query(text, values) → { rows, rowCount }, transaction(fn) or null when the
 * client has no transaction API, close() }.
 */
export async function connect(client, url, { ca, max = POOL_SIZE } = {}) {
  // pg and postgres.js hand `ssl` to tls.connect, which checks the chain and the host name by default.
  const ssl = ca ? { ssl: { ca: readFileSync(ca, 'utf8') } } : {}
  if (client === 'pg-rust-pool') {
    const { DatabaseManager } = require('../..')
    const tls = ca ? { sslmode: 'verify-full', sslrootcert: ca } : {}
    const db = new DatabaseManager({ connectionString: url, max, ...tls })
    return {
      query: (text, values) => db.query(text, values),
      // Being built (issue 6); never emulated here, so W4 reports it as not available.
      transaction: typeof db.executeTransaction === 'function' ? (fn) => db.executeTransaction(fn) : null,
      stream: typeof db.stream === 'function'
        ? (text, batchSize) => tally(db.stream(text, [], { batchSize }), true)
        : null,
      close: () => db.close(),
    }
  }
  if (client === 'pg-rust-pool/pg') {
    const { Pool } = require('pg-rust-pool/pg')
    const tls = ca ? { sslmode: 'verify-full', sslrootcert: ca } : {}
    return pgPool(new Pool({ connectionString: url, max, ...tls }))
  }
  if (client === 'pg') {
    const { default: pg } = await import('pg')
    return pgPool(new pg.Pool({ connectionString: url, max, ...ssl }))
  }
  if (client === 'postgres.js') {
    const { default: postgres } = await import('postgres')
    const sql = postgres(url, { max, ...ssl })
    const query = (tag) => (text, values = []) => tag(...template(text, values, sql))
      .then((rows) => ({ rows, rowCount: rows.count }))
    return {
      query: query(sql),
      transaction: (fn) => sql.begin((tx) => fn({ query: query(tx) })),
      stream: (text, batchSize) => tally(sql.unsafe(text).cursor(batchSize), true),
      close: () => sql.end(),
    }
  }
  throw new Error(`unknown client ${client}: one of ${CLIENTS.join(', ')}`)
}

/**
 * The ids of a stream's rows, counted and summed: `source` yields batches (`batches`) or rows.
 * Every row is touched, as a consumer would.
 */
async function tally(source, batches) {
  let count = 0
  let sum = 0
  for await (const item of source) {
    for (const row of batches ? item : [item]) {
      count++
      sum += row.id
    }
  }
  return { count, sum }
}

/**
 * The adapter of a pg-pool-shaped pool: transactions as pg users write them, BEGIN to COMMIT on a
 * client; streams through pg-query-stream on a checked-out client.
 */
function pgPool(pool) {
  return {
    async stream(text, batchSize) {
      const QueryStream = require('pg-query-stream')
      const conn = await pool.connect()
      try {
        return await tally(conn.query(new QueryStream(text, [], { batchSize })), false)
      } finally {
        conn.release()
      }
    },
    query: (text, values) => pool.query(text, values),
    async transaction(fn) {
      const conn = await pool.connect()
      try {
        await conn.query('BEGIN')
        const result = await fn(conn)
        await conn.query('COMMIT')
        conn.release()
        return result
      } catch (e) {
        await conn.query('ROLLBACK').then(() => conn.release(), (rollbackError) => conn.release(rollbackError))
        throw e
      }
    },
    close: () => pool.end(),
  }
}

// postgres.js is called as a tagged template, sql`SELECT ${x}::int AS x`: the engine passes the
// literal parts (with a `raw` property) and the values. This makes that call from SQL text whose
// placeholders are $1, $2, … in order, so all three clients run the same statements. Objects go
// as sql.json(value), as postgres.js users write them.
const templates = new Map()
function template(text, values, sql) {
  let strings = templates.get(text)
  if (strings === undefined) {
    const placeholders = text.match(/\$\d+/g) ?? []
    if (placeholders.some((p, i) => p !== `$${i + 1}`)) throw new Error(`placeholders must be $1, $2, … in order: ${text}`)
    strings = text.split(/\$\d+/)
    Object.defineProperty(strings, 'raw', { value: strings })
    templates.set(text, strings)
  }
  return [strings, ...values.map((v) => (v !== null && typeof v === 'object' && !(v instanceof Date) ? sql.json(v) : v))]
}
