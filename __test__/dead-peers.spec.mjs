// No call waits forever on a dead link (issue 24, acceptance 1 and 5), through the harness's
// TCP fault proxy between the pool and a real server: a query on a black-holed link settles at
// its deadline; after its idle links are black-holed the pool serves the next query within
// connectionTimeoutMillis; resetting every link under 32 queries in flight fails only those (calls
// made right after it are retried elsewhere, their requests never having left), and
// the pool recovers consistent; refused connections fail fast and the pool recovers when they are
// accepted again; close({ timeoutMillis: 500 }) resolves over a dead link without waiting for it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, sleep } from './helpers.mjs'
import { startProxy } from './harness/proxy.mjs'
import { PASSWORD } from './harness/cluster.mjs'

const PORT = Number(process.env.PGPORT)

async function throughProxy(options, fn) {
  const proxy = await startProxy({ port: PORT })
  try {
    const connectionString = `postgres://postgres:${PASSWORD}@127.0.0.1:${proxy.port}/postgres`
    return await withManager({ connectionString, logLevel: 'off', ...options }, (db) => fn(db, proxy))
  } finally {
    await proxy.close()
  }
}

function consistent(db) {
  const s = db.getPoolStatistics()
  assert.equal(s.activeConnections + s.idleConnections, s.totalConnections, JSON.stringify(s))
  assert.equal(s.waitingCount, 0)
}

test('a query on a link black-holed while it runs settles at its deadline, and the pool goes on', { timeout: 30000 }, async () => {
  // cancelTimeoutMillis is far from the deadline, so that a query that waited for its cancel to
  // give up would be seen. min: 0: no connection opened in the background can be idle on the
  // link when it is black-holed (on a loaded machine one was, and the next query went to it).
  await throughProxy({ min: 0, max: 2, cancelTimeoutMillis: 1500, connectionTimeoutMillis: 2000 }, async (db, proxy) => {
    await db.query('SELECT 1')
    const running = db.query({ text: 'SELECT pg_sleep(1)', timeoutMillis: 400 })
    await sleep(50)
    proxy.blackholeOpen()
    const started = Date.now()
    const e = await running.catch((e) => e)
    assert.equal(e.code, 'QUERY_TIMEOUT', e.message)
    // The deadline is about 350 ms after the black hole; waiting for the cancel would take 1850.
    assert.ok(Date.now() - started < 1000, `settled ${Date.now() - started} ms after the black hole`)
    // New links pass: the next query gets a connection of its own at once.
    assert.equal((await db.query({ text: 'SELECT 2 AS x', timeoutMillis: 2000 })).rows[0].x, 2)
    await sleep(2000) // past cancelTimeoutMillis: the dead connection is let go of
    consistent(db)
  })
})

test('after its idle links are black-holed, the next query is served within connectionTimeoutMillis', { timeout: 30000 }, async () => {
  // The check of an idle connection waits a quarter of connectionTimeoutMillis, at most 1 s.
  await throughProxy({ min: 3, max: 3, connectionTimeoutMillis: 4000, idleTimeoutMillis: 0 }, async (db, proxy) => {
    await db.initialize()
    await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.05)')))
    assert.equal(db.getPoolStatistics().idleCount, 3)
    await sleep(5200) // idle long enough to be checked before reuse
    proxy.blackholeOpen()
    const started = Date.now()
    assert.equal((await db.query('SELECT 3 AS x')).rows[0].x, 3)
    const took = Date.now() - started
    // One check (1 s) and a new connection, with slack for a loaded machine; checking each of the
    // three idle connections in turn would take over 3 s.
    assert.ok(took < 2500, `served after ${took} ms`)
    consistent(db)
  })
})

test('resetting every link under 32 queries in flight fails only those; calls made right after never fail; the pool recovers consistent', { timeout: 30000 }, async () => {
  await throughProxy({ max: 8, connectionTimeoutMillis: 3000 }, async (db, proxy) => {
    // Five rounds: the calls made in the same tick as the reset meet connections whose task has
    // not seen it yet, and must be retried on others (their requests never left).
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, () => db.query('SELECT 1')))
      const inFlight = Array.from({ length: 32 }, (_, i) => db.query(`SELECT pg_sleep(0.3), ${i} AS i`).then(() => 'ok', (e) => e.code))
      await sleep(100)
      proxy.reset()
      const after = Array.from({ length: 32 }, (_, i) => db.query(`SELECT ${i} AS i`).then((r) => r.rows[0].i === i ? 'ok' : 'wrong', (e) => e.code))
      const outcomes = await Promise.all(inFlight)
      for (const o of outcomes) assert.ok(['ok', 'CONNECTION_CLOSED', 'ECONNRESET', 'CONNECTION_ERROR'].includes(o), o)
      assert.ok(outcomes.some((o) => o !== 'ok'), 'the reset failed queries in flight')
      assert.deepEqual([...new Set(await Promise.all(after))], ['ok'], `round ${round}`)
      consistent(db)
    }
  })
})

test('refused connections fail fast with a code; the pool recovers once they are accepted', { timeout: 30000 }, async () => {
  await throughProxy({ max: 2, connectionTimeoutMillis: 2000, circuitBreaker: false }, async (db, proxy) => {
    await proxy.refuse()
    const started = Date.now()
    const e = await db.query('SELECT 1').catch((e) => e)
    assert.equal(e.code, 'ECONNREFUSED', e.message)
    // Not retried until connectionTimeoutMillis (2 s).
    assert.ok(Date.now() - started < 1000, `failed after ${Date.now() - started} ms`)
    await proxy.pass()
    assert.equal((await db.query('SELECT 4 AS x')).rows[0].x, 4)
    consistent(db)
  })
})

test('close({ timeoutMillis: 500 }) over a dead link resolves without waiting for it; a held client\'s query then rejects with POOL_CLOSED', { timeout: 30000 }, async () => {
  await throughProxy({ max: 2 }, async (db, proxy) => {
    const client = await new Promise((resolve) => setImmediate(async () => resolve(await db.getClient())))
    const running = db.query('SELECT pg_sleep(5)').catch((e) => e)
    const held = client.query('SELECT pg_sleep(5)').catch((e) => e)
    await sleep(100)
    proxy.blackholeOpen()
    const started = Date.now()
    await db.close({ timeoutMillis: 500 })
    // The timeout, with seconds of slack for a loaded machine; the queries' 5 s never come over
    // the black hole, and a close that waited for the link would wait for TCP to give up.
    assert.ok(Date.now() - started < 2500, `close took ${Date.now() - started} ms`)
    assert.equal((await running).code, 'POOL_CLOSED')
    assert.equal((await held).code, 'POOL_CLOSED')
    assert.equal((await client.query('SELECT 1').catch((e) => e)).code, 'POOL_CLOSED')
    await client.release()
  })
})
