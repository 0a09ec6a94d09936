// The demo (`npm run demo`): with no DATABASE_URL it embeds a throwaway PostgreSQL, serves its
// routes (users, notes, the health endpoints, metrics), logs the pool's events, and on SIGINT
// closes everything and exits 0, leaving no server process behind; the same with its routes on
// require('pg-rust-pool/pg') in place of pg (DEMO_MODULE=pg, issue 22). Every timestamp it sends
// has Date#toISOString()'s form, and database errors answer 409, 400 or 503, anything else 500
// without its details (issue 23).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCluster } from './harness/cluster.mjs'
import { waitForLine, withChildren, waitUntilGone, isRunning } from './harness/processes.mjs'
import { DatabaseError, observer, within } from './helpers.mjs'
import { httpError } from './demo/http-errors.mjs'

const demoServer = join(dirname(fileURLToPath(import.meta.url)), 'demo', 'server.mjs')

const CONFLICT = { error: 'a user with this email already exists', code: 'CONFLICT' }
const INVALID = { error: 'a value in the request cannot be stored', code: 'INVALID_INPUT' }
const UNAVAILABLE = { error: 'the database is unavailable; try again later', code: 'UNAVAILABLE' }
const INTERNAL = { error: 'internal error', code: 'INTERNAL_ERROR' }

/**
 * Starts the demo on `module` ('' or 'pg') with no database settings but `databaseUrl` (none: it
 * embeds its own server) and waits for it to listen. Returns { child, base, stdout(), stderr(),
 * exited }; the child is killed after the test whatever happens.
 */
async function startDemo(t, module, databaseUrl) {
  const env = { ...process.env, PORT: '0', DEMO_MODULE: module }
  for (const key of Object.keys(env)) if (key === 'DATABASE_URL' || /^(PG|DB_)/.test(key)) delete env[key]
  if (databaseUrl) env.DATABASE_URL = databaseUrl
  const child = spawn(process.execPath, [demoServer], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL')) // a failed assertion must not leave the demo running
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d })
  const [, base] = await waitForLine(child.stdout, /^listening on (http:\/\/127\.0\.0\.1:\d+)$/, { what: 'the listening line' })
  return { child, base, stdout: () => out, stderr: () => err, exited }
}

/** Sends SIGINT to the demo and asserts that it exits 0 within 15 s. */
async function interrupt(demo) {
  demo.child.kill('SIGINT')
  const ended = await within(demo.exited, 15000, 'the demo exiting after SIGINT')
  assert.deepEqual(ended, { code: 0, signal: null }, demo.stderr())
}

/** `body` as JSON, or a string as it is (to send JSON that does not parse). */
async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: typeof body === 'string' ? body : body ? JSON.stringify(body) : undefined,
  })
  const json = res.headers.get('content-type')?.startsWith('application/json')
  return { status: res.status, body: json ? await res.json() : await res.text() }
}

/** Asserts that `text` is a timestamp from the last minute in Date#toISOString()'s form. */
function assertTimestamp(text, where) {
  assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${where}: ${text}`)
  assert.equal(new Date(text).toISOString(), text, where)
  assert.ok(Math.abs(Date.parse(text) - Date.now()) < 60000, `${where}: a timestamp from now (${text})`)
}

for (const [module, label] of [['', 'DatabaseManager'], ['pg', 'pg-rust-pool/pg']]) {
  test(`the demo on ${label} embeds PostgreSQL, serves its routes and stops cleanly on SIGINT`, { timeout: 60000 }, async (t) => {
    const demo = await startDemo(t, module)
    const { base } = demo
    const embedded = demo.stdout().match(/started an embedded PostgreSQL \(pid (\d+)\) in (\S+)/)
    assert.ok(embedded, `the demo says it embedded a server; it printed:\n${demo.stdout()}`)
    const postmaster = Number(embedded[1])
    const dataDir = embedded[2]
    assert.ok(isRunning(postmaster))
    const serverProcesses = withChildren(postmaster)

    const index = await request(base, 'GET', '/')
    assert.equal(index.status, 200)
    assert.ok(index.body.routes.includes('GET /users'))

    const users = await request(base, 'GET', '/users')
    assert.equal(users.status, 200)
    assert.deepEqual(users.body.map((u) => [u.id, u.name, u.email]), [
      [1, 'Ada Lovelace', 'ada@example.com'],
      [2, 'Alan Turing', 'alan@example.com'],
      [3, 'Grace Hopper', 'grace@example.com'],
    ])
    for (const user of users.body) assertTimestamp(user.createdAt, 'GET /users')

    const created = await request(base, 'POST', '/users', { name: 'Edsger Dijkstra', email: 'edsger@example.com' })
    assert.equal(created.status, 201)
    assert.deepEqual({ ...created.body, createdAt: typeof created.body.createdAt },
      { id: 4, name: 'Edsger Dijkstra', email: 'edsger@example.com', createdAt: 'string' })
    assertTimestamp(created.body.createdAt, 'POST /users')

    assert.deepEqual(await request(base, 'GET', '/users/4'), { status: 200, body: created.body })
    assert.deepEqual(await request(base, 'GET', '/users/999'), { status: 404, body: { error: 'no such user', code: 'NOT_FOUND' } })

    // The unique email (SQLSTATE 23505): 409, in the service's words, not the server's.
    const duplicate = { name: 'Someone Else', email: 'edsger@example.com' }
    assert.deepEqual(await request(base, 'POST', '/users', duplicate), { status: 409, body: CONFLICT })
    // A NUL byte is valid JSON (\u0000) but not text PostgreSQL can store (22021): 400.
    assert.deepEqual(await request(base, 'POST', '/users', { name: 'nul \u0000 byte', email: 'nul@example.com' }), { status: 400, body: INVALID })
    assert.deepEqual(await request(base, 'POST', '/users/1/notes', { body: 'nul \u0000 byte' }), { status: 400, body: INVALID })
    const malformed = await request(base, 'POST', '/users', '{"name": "Ada"')
    assert.deepEqual([malformed.status, malformed.body.code], [400, 'INVALID_INPUT'])

    const time = await request(base, 'GET', '/time')
    assertTimestamp(time.body.now, 'GET /time')

    assert.deepEqual(await request(base, 'GET', '/users/1/notes'), { status: 200, body: [] })
    const note = await request(base, 'POST', '/users/1/notes', { body: 'first program' })
    assert.equal(note.status, 201)
    assert.deepEqual({ ...note.body, createdAt: typeof note.body.createdAt }, { id: 1, userId: 1, body: 'first program', createdAt: 'string' })
    assertTimestamp(note.body.createdAt, 'POST /users/1/notes')
    // The same note, and its time written the same, read back as a list.
    assert.deepEqual(await request(base, 'GET', '/users/1/notes'),
      { status: 200, body: [{ id: 1, body: 'first program', createdAt: note.body.createdAt }] })
    assert.deepEqual(await request(base, 'POST', '/users/999/notes', { body: 'x' }), { status: 404, body: { error: 'no such user', code: 'NOT_FOUND' } })
    assert.equal((await request(base, 'POST', '/users/1/notes', {})).status, 400)

    for (const route of index.body.routes.filter((r) => r.startsWith('GET ') && !r.includes(':'))) {
      assert.equal((await request(base, 'GET', route.slice(4))).status, 200, route)
    }
    const health = await request(base, 'GET', '/health')
    assert.deepEqual([health.body.status, health.body.isReplica], ['healthy', false])
    assert.deepEqual(await request(base, 'GET', '/ready'), { status: 200, body: { status: 'ready', database: 'healthy' } })
    assert.equal((await request(base, 'GET', '/health/database')).body.database, 'postgres')
    assert.equal((await request(base, 'GET', '/live')).body.status, 'alive')
    const status = await request(base, 'GET', '/status')
    assert.ok(status.body.pool.queriesExecuted >= 10, JSON.stringify(status.body))
    assert.equal(status.body.pool.errors, 3, 'the duplicate email and the two NUL bytes')
    const metrics = await request(base, 'GET', '/metrics')
    assert.match(metrics.body, /\npg_rust_pool_errors_total\{pool="demo"\} 3\n/)
    assert.match(demo.stdout(), /^pool: connection \d+ opened$/m, 'the demo logs pool events')
    assert.equal(demo.stderr().match(/: 50\d,/), null, 'no request failed on the server side')

    await interrupt(demo)
    assert.match(demo.stdout(), /^pool: connection \d+ closed \(closed\)$/m)
    assert.deepEqual(await waitUntilGone(serverProcesses, 1000), [], 'no process of the embedded server remains')
    assert.equal(spawnSync('pgrep', ['-f', dataDir]).status, 1, `no process mentions ${dataDir}`)
    assert.equal(existsSync(dirname(dataDir)), false, 'the embedded cluster directory is removed')
  })
}

for (const [module, label] of [['', 'DatabaseManager'], ['pg', 'pg-rust-pool/pg']]) {
  test(`the demo on ${label} answers 503 while its database is down, and 500 without details for an error it does not know`, { timeout: 60000 }, async (t) => {
    const cluster = await startCluster()
    t.after(() => cluster.stop())
    const demo = await startDemo(t, module, cluster.url)
    const { base } = demo
    assert.equal((await request(base, 'GET', '/users')).status, 200)

    // A table gone from under the service (42P01): the client learns nothing of it, the log does.
    const admin = await observer({ connectionString: cluster.url })
    await admin.query('DROP TABLE demo_notes').finally(() => admin.end())
    assert.deepEqual(await request(base, 'GET', '/users/1/notes'), { status: 500, body: INTERNAL })
    assert.match(demo.stderr(), /^GET \/users\/1\/notes: 500, DatabaseError: relation "demo_notes" does not exist/m)

    // The server stops: its connections end (57P01), new ones are refused (ECONNREFUSED), and after
    // five refusals the circuit breaker fails calls at once (DATABASE_UNAVAILABLE). All are 503;
    // ten calls, so that the breaker has opened by the last (the pool's own reconnects in the
    // background may open it sooner, so the refusals' 503 is not asserted from the log).
    await cluster.stopServer()
    for (let round = 1; round <= 2; round++) {
      assert.deepEqual(await request(base, 'GET', '/users'), { status: 503, body: UNAVAILABLE }, `round ${round}`)
      assert.deepEqual(await request(base, 'GET', '/users/1'), { status: 503, body: UNAVAILABLE }, `round ${round}`)
      assert.deepEqual(await request(base, 'POST', '/users', { name: 'N', email: 'n@example.com' }), { status: 503, body: UNAVAILABLE }, `round ${round}`)
      assert.deepEqual(await request(base, 'POST', '/users/1/notes', { body: 'x' }), { status: 503, body: UNAVAILABLE }, `round ${round}`)
      assert.deepEqual(await request(base, 'GET', '/time'), { status: 503, body: UNAVAILABLE }, `round ${round}`)
    }
    assert.match(demo.stderr(), /^GET \/users: 503, DATABASE_UNAVAILABLE: /m)
    assert.equal((await request(base, 'GET', '/ready')).status, 503)
    assert.equal((await request(base, 'GET', '/live')).status, 200)
    await interrupt(demo)
  })
}

test('the demo\'s answer to each error code: 409, 400, 503, anything else 500, never the error\'s own words', () => {
  const expected = {
    409: ['23505', '23P01'],
    400: ['INVALID_ARGUMENT', '22021', '22P02', '22001', '22003', '22007', '23502', '23514'],
    503: ['DATABASE_UNAVAILABLE', 'POOL_TIMEOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'POOL_CLOSED', 'ECONNREFUSED',
      'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08006', '53300'],
    500: ['42P01', '42601', '42703', 'XX000', 'INTERNAL_ERROR', 'DECODE_ERROR'],
  }
  for (const [status, codes] of Object.entries(expected)) {
    for (const code of codes) {
      const answer = httpError(new DatabaseError('secret: table demo_users, column email', code))
      assert.equal(answer.status, Number(status), code)
      assert.doesNotMatch(JSON.stringify(answer.body), /secret|demo_users|column/, code)
    }
  }
  const email = new DatabaseError('duplicate key value', '23505', { constraint: 'demo_users_email_key' })
  assert.deepEqual(httpError(email), { status: 409, body: CONFLICT })
  // Not the database's: a socket error elsewhere in the app is no reason to send clients away.
  assert.deepEqual(httpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), { status: 500, body: INTERNAL })
  assert.deepEqual(httpError(new TypeError('x is undefined')), { status: 500, body: INTERNAL })
  // Express's own client errors, which it marks as safe to show.
  const parse = Object.assign(new SyntaxError('Unexpected end of JSON input'), { status: 400, expose: true })
  assert.deepEqual(httpError(parse), { status: 400, body: { error: 'Unexpected end of JSON input', code: 'INVALID_INPUT' } })
  const large = Object.assign(new Error('request entity too large'), { status: 413, expose: true })
  assert.deepEqual(httpError(large), { status: 413, body: { error: 'request entity too large', code: 'PAYLOAD_TOO_LARGE' } })
  assert.deepEqual(httpError(Object.assign(new Error('secret'), { status: 500, expose: false })), { status: 500, body: INTERNAL })
})
