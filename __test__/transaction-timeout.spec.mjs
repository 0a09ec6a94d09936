// Acceptance (issue 4, point 4): timeoutMillis bounds a transaction. A callback stuck in
// SELECT pg_sleep(10) rejects with TRANSACTION_TIMEOUT at the limit (not after the 10 s), the
// statement is gone from pg_stat_activity right after, and the connection is back in the pool
// outside any transaction (or closed), never returned mid-transaction.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, DatabaseError, uniqueName, observer } from './helpers.mjs'

const applicationName = uniqueName('tx-timeout')
const db = new DatabaseManager({ max: 1, connectionTimeoutMillis: 5000, applicationName })
const watcher = await observer()

test.after(async () => {
  await watcher.end()
  await db.close()
})

async function activity() {
  const r = await watcher.query('SELECT state, query FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  return r.rows
}

test('a callback in pg_sleep(10) is cancelled, rolled back, and rejects with TRANSACTION_TIMEOUT', async () => {
  await db.query('DROP TABLE IF EXISTS tt_rows; CREATE TABLE tt_rows (id int)')
  const limit = 500
  let inner
  const started = Date.now()
  const err = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO tt_rows VALUES (1)')
    inner = client.query('SELECT pg_sleep(10)')
    await inner
  }, { timeoutMillis: limit }).catch((e) => e)
  const elapsed = Date.now() - started
  assert.ok(err instanceof DatabaseError, String(err))
  assert.equal(err.code, 'TRANSACTION_TIMEOUT')
  assert.match(err.message, /longer than timeoutMillis \(500 ms\)/)
  // Seconds of slack for a loaded machine, and still under half the statement's 10 s.
  assert.ok(elapsed >= limit && elapsed < limit + 4000, `rejected after ${elapsed} ms`)
  // The statement the callback awaited fails with the same code.
  assert.equal((await inner.catch((e) => e)).code, 'TRANSACTION_TIMEOUT')
  // Right after: nothing of this manager runs on the server, and its connection is idle.
  assert.deepEqual((await activity()).map((a) => a.state), ['idle'])
  // The insert was rolled back, and the next query gets a connection outside a transaction.
  const client = await db.getClient()
  try {
    assert.equal((await client.query('SAVEPOINT probe').catch((e) => e)).code, '25P01')
    assert.equal((await client.query('SELECT count(*)::int AS n FROM tt_rows')).rows[0].n, 0)
  } finally {
    await client.release()
  }
  await db.query('DROP TABLE tt_rows')
})

test('a timeout between statements (nothing running) rolls back too', async () => {
  let late
  const err = await db.executeTransaction(async (client) => {
    await client.query('SELECT 1')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    late = client.query('SELECT 2')
    await late
  }, { timeoutMillis: 200 }).catch((e) => e)
  assert.equal(err.code, 'TRANSACTION_TIMEOUT')
  assert.deepEqual((await activity()).map((a) => a.state), ['idle'])
  // What the timed-out callback runs later is refused, not run outside the transaction.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.equal((await late.catch((e) => e)).code, 'TRANSACTION_TIMEOUT')
  assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
})

test('a transaction that finishes in time commits', async () => {
  const value = await db.executeTransaction((client) => client.query('SELECT pg_sleep(0.05)').then(() => 'done'), { timeoutMillis: 5000 })
  assert.equal(value, 'done')
})

test('a transaction still waiting for its connection times out and gives up the wait', async () => {
  // Another request (an async context of its own) holds the only connection.
  const other = await new Promise((resolve, reject) => setImmediate(() => db.getClient().then(resolve, reject)))
  const started = Date.now()
  let first
  const err = await db.executeTransaction((client) => {
    first = client.query('SELECT 1')
    return first
  }, { timeoutMillis: 200 }).catch((e) => e)
  const elapsed = Date.now() - started
  assert.equal(err.code, 'TRANSACTION_TIMEOUT')
  assert.match(err.message, /waiting for a connection included/)
  // The other request holds the connection until the end, and connectionTimeoutMillis is 5 s.
  assert.ok(elapsed >= 200 && elapsed < 3000, `rejected after ${elapsed} ms`)
  assert.equal((await first.catch((e) => e)).code, 'TRANSACTION_TIMEOUT')
  // The wait was given up: the connection, released, serves the next query, and stays idle.
  await other.release()
  assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  assert.equal(db.getPoolStatistics().waitingCount, 0)
  assert.deepEqual((await activity()).map((a) => a.state), ['idle'])
})

test('a callback that released its client while a statement ran is still cancelled on time', async () => {
  const started = Date.now()
  const err = await db.executeTransaction(async (client) => {
    const sleeping = client.query('SELECT pg_sleep(10)')
    client.release()
    await sleeping
  }, { timeoutMillis: 300 }).catch((e) => e)
  assert.equal(err.code, 'TRANSACTION_TIMEOUT')
  assert.ok(Date.now() - started < 5000, `rejected after ${Date.now() - started} ms`) // not after 10 s
  assert.deepEqual((await activity()).map((a) => a.state), ['idle'])
})
