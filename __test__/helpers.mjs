// Shared by the specs: the package under test and a plain node-postgres connection for looking
// at the server from the outside (pg_stat_activity, pg_prepared_statements).
import { spawn } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import pg from 'pg'

const require = createRequire(import.meta.url)
export const { DatabaseManager, DatabaseError, LeakWarning, healthHandlers } = require('..')

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

let counter = 0
/** An application_name unique to this test, to find its backends in pg_stat_activity. */
export function uniqueName(prefix = 'spec') {
  counter += 1
  return `${prefix}-${process.pid}-${counter}`
}

/** A node-postgres client for observing the server; close it with `end()`. */
export async function observer(config) {
  const client = new pg.Client(config)
  await client.connect()
  return client
}

/** Number of server backends with this application_name. */
export async function backends(client, applicationName) {
  const r = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  return r.rows[0].n
}

/** Server process ids of the backends with this application_name. */
export async function backendPids(client, applicationName) {
  const r = await client.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [applicationName])
  return r.rows.map((row) => row.pid)
}

/** Runs fn with a fresh manager and always closes it. */
export async function withManager(options, fn) {
  const db = new DatabaseManager(options)
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/**
 * Runs fn({ db, client, applicationName }) with a fresh manager whose connections carry a unique
 * application_name and an observer connection; always closes both.
 */
export async function observed(prefix, options, fn) {
  const applicationName = uniqueName(prefix)
  const client = await observer()
  const db = new DatabaseManager({ ...options, applicationName })
  try {
    return await fn({ db, client, applicationName })
  } finally {
    await db.close()
    await client.end()
  }
}

/** Polls `condition` until it holds or `timeoutMs` pass; returns whether it held. */
export async function eventually(condition, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return true
    if (Date.now() > deadline) return false
    await sleep(25)
  }
}

/** Asserts that `promise` rejects with a DatabaseError of `code` (and a message matching `pattern`); returns it. */
export async function rejectsWith(promise, code, pattern) {
  const err = await promise.then(() => assert.fail(`expected a rejection with ${code}`), (e) => e)
  assert.ok(err instanceof DatabaseError, `not a DatabaseError: ${err?.stack ?? err}`)
  assert.equal(err.code, code, err.message)
  if (pattern) assert.match(err.message, pattern)
  return err
}

/** Asserts that `new DatabaseManager(options)` throws INVALID_CONFIG with a message matching `pattern`. */
export function refusesConfig(options, pattern) {
  assert.throws(() => new DatabaseManager(options), (e) => {
    assert.ok(e instanceof DatabaseError, `not a DatabaseError: ${e}`)
    assert.equal(e.code, 'INVALID_CONFIG')
    assert.match(e.message, pattern)
    return true
  })
}

/**
 * Starts `node __test__/fixtures/<name>` with `env` added. Returns { child, stdout(), stderr(),
 * exited } where stdout() and stderr() give all the child wrote so far and `exited` resolves with
 * { code, signal, at } (`at` from performance.now()). Kill it with child.kill() if a test fails.
 */
export function runFixture(name, env) {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })))
  return { child, stdout: () => out, stderr: () => err, exited }
}

/**
 * `promise`, or a rejection naming `what` once `ms` have passed. The timer is cleared as soon as
 * `promise` settles: a bare `Promise.race` with `sleep(ms)` would hold the process open for the
 * rest of `ms` after the file's last test.
 */
export function within(promise, ms, what) {
  let timer
  const timeout = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Like `eventually`, but throws naming `what` when the condition does not hold in time. */
export async function until(check, { timeoutMs = 3000, what = 'the condition' } = {}) {
  if (!(await eventually(check, timeoutMs))) throw new Error(`${what} did not hold within ${timeoutMs} ms`)
}

/**
 * What a manager's connections ran, read from the log of a cluster started with
 * `{ log_statement: 'all', log_line_prefix: '[%a] ' }`: `mark()` runs a marker query through
 * `db` and returns its text; `since(marker)` lists the statements its `applicationName` ran after.
 */
export function statementLog(cluster, db, applicationName) {
  return {
    async mark() {
      const text = `SELECT 'mark ${Math.random()}'`
      await db.query(text)
      return text
    },
    async since(marker) {
      // Let the server's stderr reach us.
      await sleep(200)
      const log = cluster.log()
      const start = log.lastIndexOf(marker)
      assert.notEqual(start, -1, 'the mark is in the log')
      return log.slice(start).split('\n').slice(1)
        .filter((line) => line.startsWith(`[${applicationName}] LOG:  `))
        .map((line) => line.replace(/^.*?LOG: {2}(statement|execute [^:]*): /, ''))
    },
  }
}

/**
 * A TCP proxy to the server at `{ host, port }` that counts round trips: each burst of bytes the
 * client sends after the server last spoke. Connect through `port`; `trips()` is the count so far.
 */
export async function roundTripCounter({ host, port }) {
  let trips = 0
  let clientSpokeLast = false
  const proxy = createServer((client) => {
    const server = connect(port, host)
    client.on('data', (d) => {
      if (!clientSpokeLast) trips += 1
      clientSpokeLast = true
      server.write(d)
    })
    server.on('data', (d) => {
      clientSpokeLast = false
      client.write(d)
    })
    client.on('close', () => server.destroy())
    server.on('close', () => client.destroy())
    client.on('error', () => {})
    server.on('error', () => {})
  })
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  return { port: proxy.address().port, trips: () => trips, close: () => new Promise((resolve) => proxy.close(resolve)) }
}

/**
 * A client from getClient() taken in an async context of its own, so that the calling code does
 * not count as holding it (it would get POOL_DEADLOCK instead of waiting for a connection).
 */
export function clientElsewhere(db) {
  return new Promise((resolve, reject) => setImmediate(() => db.getClient().then(resolve, reject)))
}

/**
 * How many statements are prepared on each of the `serverConnections` server connections of the
 * PgBouncer at `url`: one client per server connection holds a transaction open, so each is given
 * a different one. Asserts that every one was looked at.
 */
export async function preparedBehindPgBouncer(url, serverConnections) {
  const clients = Array.from({ length: serverConnections }, () => new pg.Client({ connectionString: url }))
  try {
    await Promise.all(clients.map((c) => c.connect()))
    await Promise.all(clients.map((c) => c.query('BEGIN')))
    const seen = await Promise.all(clients.map(async (c) => (await c.query('SELECT pg_backend_pid() AS pid, count(*)::int AS n FROM pg_prepared_statements')).rows[0]))
    assert.equal(new Set(seen.map((s) => s.pid)).size, serverConnections, 'every server connection was looked at')
    await Promise.all(clients.map((c) => c.query('COMMIT')))
    return seen.map((s) => s.n)
  } finally {
    await Promise.all(clients.map((c) => c.end()))
  }
}
