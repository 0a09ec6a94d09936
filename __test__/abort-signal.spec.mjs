// AbortSignal on every call that waits (issue 24): executeTransaction (the running statement
// cancelled, the transaction rolled back), getClient (the wait for a connection given up, a
// connection that comes after goes back), waitForDatabase and getHealthStatus (the caller stops
// waiting). Node's convention: name AbortError, code ABORT_ERR, cause = the signal's reason; an
// already-aborted signal rejects at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, observer, uniqueName, sleep, eventually } from './helpers.mjs'
import { freePort } from './harness/cluster.mjs'

function abortAfter(ms, reason = new Error('stop')) {
  const controller = new AbortController()
  setTimeout(() => controller.abort(reason), ms)
  return { signal: controller.signal, reason }
}

function assertAbortError(e, reason) {
  assert.equal(e?.name, 'AbortError', String(e))
  assert.equal(e.code, 'ABORT_ERR')
  assert.equal(e.cause, reason)
}

test('executeTransaction: aborted mid-statement, the statement is cancelled and the transaction rolled back', async () => {
  const applicationName = uniqueName('abort-tx')
  const watcher = await observer()
  try {
    await withManager({ max: 1, applicationName }, async (db) => {
      await db.query('DROP TABLE IF EXISTS abort_rows; CREATE TABLE abort_rows (id int)')
      const { signal, reason } = abortAfter(200)
      const started = Date.now()
      const e = await db.executeTransaction(async (client) => {
        await client.query('INSERT INTO abort_rows VALUES (1)')
        await client.query('SELECT pg_sleep(10)')
      }, { signal }).catch((e) => e)
      assertAbortError(e, reason)
      // Aborted at 200 ms; seconds of slack for a loaded machine, half the 10 s it would wait for
      // the statement.
      assert.ok(Date.now() - started < 5000, `rejected after ${Date.now() - started} ms`)
      assert.equal((await db.query('SELECT count(*)::int AS n FROM abort_rows')).rows[0].n, 0)
      const { rows } = await watcher.query('SELECT state FROM pg_stat_activity WHERE application_name = $1', [applicationName])
      assert.deepEqual(rows.map((r) => r.state), ['idle'])
      // Already aborted: rejects at once, the callback never runs.
      let ran = false
      const again = await db.executeTransaction(async () => { ran = true }, { signal }).catch((e) => e)
      assertAbortError(again, reason)
      assert.equal(ran, false)
      await db.query('DROP TABLE abort_rows')
    })
  } finally {
    await watcher.end()
  }
})

test('getClient: aborted while waiting for a connection, the wait is given up and the connection goes back', async () => {
  await withManager({ max: 1 }, async (db) => {
    // Held from another async context, so that this one waits rather than fail as a deadlock.
    const holder = await new Promise((resolve) => setImmediate(async () => resolve(await db.getClient())))
    const { signal, reason } = abortAfter(100)
    const e = await db.getClient({ signal }).catch((e) => e)
    assertAbortError(e, reason)
    await holder.release()
    // The released connection is idle, and nobody waits for it: the aborted wait was given up.
    await eventually(() => db.getPoolStatistics().idleCount === 1)
    const s = db.getPoolStatistics()
    assert.deepEqual([s.totalCount, s.idleCount, s.waitingCount], [1, 1, 0])
    const client = await db.getClient({ signal: new AbortController().signal })
    assert.equal((await client.query('SELECT 1 AS x')).rows[0].x, 1)
    await client.release()
    assertAbortError(await db.getClient({ signal }).catch((e) => e), reason)
  })
})

test('waitForDatabase and getHealthStatus stop waiting when their signal fires', async () => {
  const port = await freePort() // nothing listens there
  await withManager({ host: '127.0.0.1', port, logLevel: 'off' }, async (db) => {
    const { signal, reason } = abortAfter(150)
    const started = Date.now()
    assertAbortError(await db.waitForDatabase({ timeoutMillis: 10000, signal }).catch((e) => e), reason)
    // Aborted at 150 ms, not at the 10 s timeout.
    assert.ok(Date.now() - started < 5000, `rejected after ${Date.now() - started} ms`)
    const health = abortAfter(0)
    await sleep(5)
    assertAbortError(await db.getHealthStatus({ signal: health.signal }).catch((e) => e), health.reason)
    for (const call of [() => db.getClient({ signal: 5 }), () => db.waitForDatabase({ signal: {} }), () => db.getHealthStatus({ signal: 'x' })]) {
      const e = await Promise.resolve().then(call).catch((e) => e)
      assert.equal(e.code, 'INVALID_ARGUMENT')
    }
  })
})
