// Acceptance (issue 4, point 5): getClient() and release(). release() returns the connection,
// release(true) or release(error) closes it; a second release(), a query after release() and a
// release() after close() give CLIENT_RELEASED or are harmless, never a crash, and the pool's
// accounting stays right: afterwards every connection can still be checked out.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, DatabaseError, uniqueName, observer, backends, until } from './helpers.mjs'

const pid = async (client) => (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid

/** The pool's statistics add up and show no client still checked out. */
function consistent(db) {
  const s = db.getPoolStatistics()
  assert.equal(s.activeConnections, 0, 'no connection is still counted as handed out')
  assert.equal(s.activeConnections + s.idleConnections, s.totalConnections)
  assert.ok(s.totalConnections <= s.maxConnections)
  assert.equal(s.connectionsCreated - s.connectionsRemoved, s.totalConnections)
  return s
}

/** All `max` connections can be checked out at once: none was lost or counted twice. */
async function allCheckedOut(db, max) {
  const clients = await Promise.all(Array.from({ length: max }, () => db.getClient()))
  const pids = await Promise.all(clients.map(pid))
  assert.equal(new Set(pids).size, max)
  await Promise.all(clients.map((c) => c.release()))
}

test('a client runs queries in order on one connection, with the manager\'s semantics', async () => {
  const db = new DatabaseManager({ max: 2 })
  try {
    const client = await db.getClient()
    const [a, b, c] = await Promise.all([
      client.query('SELECT pg_backend_pid() AS pid, $1::int AS n', [1]),
      client.query({ text: 'SELECT pg_backend_pid() AS pid, 2 AS n', rowMode: 'array' }),
      client.query('SELECT 1 AS x; SELECT 2 AS y'),
    ])
    assert.equal(a.rows[0].n, 1)
    assert.deepEqual(b.rows[0], [a.rows[0].pid, 2])
    assert.deepEqual(c.map((r) => r.rows), [[{ x: 1 }], [{ y: 2 }]])
    const bad = await client.query('SELECT $1::int', ['x']).catch((e) => e)
    assert.ok(bad instanceof DatabaseError)
    assert.equal(bad.code, '22P02')
    assert.equal((await client.query('SELECT 1 AS ok')).rows[0].ok, 1)
    assert.equal(await client.release(), undefined)
  } finally {
    await db.close()
  }
})

test('release() returns the connection; release(true) and release(error) close it', async () => {
  const applicationName = uniqueName('client')
  const db = new DatabaseManager({ max: 1, applicationName })
  const watcher = await observer()
  try {
    let client = await db.getClient()
    const first = await pid(client)
    await client.release()
    client = await db.getClient()
    assert.equal(await pid(client), first, 'the same connection came back')
    await client.release(true)
    await until(async () => await backends(watcher, applicationName) === 0, { what: 'release(true) closed it' })
    client = await db.getClient()
    const second = await pid(client)
    assert.notEqual(second, first)
    await client.release(new Error('broken'))
    client = await db.getClient()
    assert.notEqual(await pid(client), second, 'release(error) closed it')
    await client.release()
  } finally {
    await watcher.end()
    await db.close()
  }
})

test('release() twice throws CLIENT_RELEASED and harms nothing', async () => {
  const db = new DatabaseManager({ max: 2, connectionTimeoutMillis: 2000 })
  try {
    const client = await db.getClient()
    const releasing = client.release()
    assert.throws(() => client.release(), (e) => {
      assert.ok(e instanceof DatabaseError)
      assert.equal(e.code, 'CLIENT_RELEASED')
      assert.match(e.message, /get a new one with getClient\(\)/)
      assert.match(e.stack, /client\.spec\.mjs/)
      return true
    })
    await releasing
    assert.throws(() => client.release(true), { code: 'CLIENT_RELEASED' })
    consistent(db)
    await allCheckedOut(db, 2)
    consistent(db)
  } finally {
    await db.close()
  }
})

test('query() after release() rejects with CLIENT_RELEASED and harms nothing', async () => {
  const db = new DatabaseManager({ max: 2, connectionTimeoutMillis: 2000 })
  try {
    const client = await db.getClient()
    // Called before release(): runs first. Called after: refused at once.
    const before = client.query('SELECT 1 AS n')
    const released = client.release()
    const after = client.query('SELECT 2 AS n').catch((e) => e)
    assert.deepEqual((await before).rows, [{ n: 1 }])
    const err = await after
    assert.ok(err instanceof DatabaseError)
    assert.equal(err.code, 'CLIENT_RELEASED')
    await released
    assert.equal((await client.query('SELECT 3').catch((e) => e)).code, 'CLIENT_RELEASED')
    consistent(db)
    await allCheckedOut(db, 2)
    consistent(db)
  } finally {
    await db.close()
  }
})

test('close() waits for checked-out clients; release() after close() is harmless', async () => {
  const applicationName = uniqueName('client-close')
  const db = new DatabaseManager({ max: 2, applicationName })
  const watcher = await observer()
  try {
    const held = await db.getClient()
    await held.query('BEGIN')
    let closed = false
    const closing = db.close().then(() => { closed = true })
    // Once closing, new work is refused; the held client finishes its transaction.
    await until(async () => (await db.query('SELECT 1').catch((e) => e)).code === 'POOL_CLOSED', { what: 'POOL_CLOSED' })
    assert.equal((await db.getClient().catch((e) => e)).code, 'POOL_CLOSED')
    await held.query('SELECT 1')
    await held.query('COMMIT')
    assert.equal(closed, false)
    await held.release()
    await closing
    assert.equal(closed, true)
    await until(async () => await backends(watcher, applicationName) === 0, { what: 'close() closed the connections' })
    assert.throws(() => held.release(), { code: 'CLIENT_RELEASED' })
    assert.equal((await held.query('SELECT 1').catch((e) => e)).code, 'CLIENT_RELEASED')
    assert.equal((await db.getClient().catch((e) => e)).code, 'POOL_CLOSED')
    assert.equal(consistent(db).totalConnections, 0)
  } finally {
    await watcher.end()
  }
})

test('a client whose connection was terminated is closed on release, and the pool recovers', async () => {
  const applicationName = uniqueName('client-terminated')
  const db = new DatabaseManager({ max: 1, connectionTimeoutMillis: 2000, applicationName })
  const watcher = await observer()
  try {
    const client = await db.getClient()
    await client.query('BEGIN')
    await watcher.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    const err = await client.query('SELECT 1').catch((e) => e)
    assert.ok(['57P01', 'CONNECTION_CLOSED'].includes(err.code), err.code)
    await client.release()
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  } finally {
    await watcher.end()
    await db.close()
  }
})
