// Issue 27 (W3): a call that comes when no other is in flight gets the connection the last call
// gave back, not the one idle longest, so one query at a time stays on one backend. A connection
// kept that way still counts as idle, still meets the idle timeout, and close() still closes it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { observed, backends, eventually, until } from './helpers.mjs'

// Served in more than 2 ms, so never a quick statement (those keep deadpool's order, see quick.rs).
const SLOW_PID = 'SELECT pg_backend_pid() AS pid, pg_sleep(0.003)::text AS s'

test('one query at a time on min: 2 stays on one backend; both connections stay idle and open', async () => {
  await observed('pool-warm', { min: 2, max: 4 }, async ({ db, client, applicationName }) => {
    await db.initialize()
    assert.equal(await backends(client, applicationName), 2)
    const pids = []
    for (let i = 0; i < 8; i++) pids.push((await db.query(SLOW_PID)).rows[0].pid)
    assert.equal(new Set(pids).size, 1, `one backend for one query at a time; saw ${pids}`)

    const stats = db.getPoolStatistics()
    assert.equal(stats.totalCount, 2)
    assert.equal(stats.idleCount, 2, 'the connection kept for the next call counts as idle')
    assert.equal(stats.activeConnections, 0)

    // Calls at once still spread over the idle connections.
    const together = await Promise.all([db.query(SLOW_PID), db.query(SLOW_PID)])
    assert.equal(new Set(together.map((r) => r.rows[0].pid)).size, 2, 'two calls at once run on two backends')

    await db.close()
    assert.equal(await backends(client, applicationName), 0, 'close() closes the kept connection too')
  })
})

test('the connection a lone query gave back meets idleTimeoutMillis like any idle one', async () => {
  await observed('pool-warm-idle', { min: 0, max: 2, idleTimeoutMillis: 300 }, async ({ db, client, applicationName }) => {
    const removed = []
    db.on('remove', (event) => removed.push(event.reason))
    await db.query(SLOW_PID)
    assert.equal(await backends(client, applicationName), 1)
    const gone = await eventually(async () => (await backends(client, applicationName)) === 0)
    assert.ok(gone, 'closed after the idle timeout')
    await until(() => removed.length > 0, { what: 'a remove event' })
    assert.deepEqual(removed, ['idle'])
    assert.equal(db.getPoolStatistics().totalCount, 0)
  })
})

test('max: 1: a client and queued queries get the connection a lone query gave back', async () => {
  await observed('pool-warm-waiters', { max: 1, connectionTimeoutMillis: 5000 }, async ({ db }) => {
    const first = (await db.query(SLOW_PID)).rows[0].pid
    // Queued behind the client by code that does not hold it (started before getClient(), whose
    // caller's own queries would be refused as a deadlock): they wait for its connection, which
    // comes back through release().
    let go
    const queued = (async () => {
      await new Promise((resolve) => { go = resolve })
      return Promise.all(Array.from({ length: 5 }, () => db.query(SLOW_PID)))
    })()
    const client = await db.getClient()
    assert.equal((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, first)
    go()
    assert.ok(await eventually(() => db.getPoolStatistics().waitingCount > 0), "the queries wait for the connection")
    await client.release()
    const pids = (await queued).map((r) => r.rows[0].pid)
    assert.deepEqual(pids, Array(5).fill(first))
    // Lone again, then more at once than the pool has: all are served by the one connection.
    await db.query(SLOW_PID)
    const burst = await Promise.all(Array.from({ length: 10 }, () => db.query(SLOW_PID)))
    assert.equal(burst.length, 10)
    assert.equal(db.getPoolStatistics().totalCount, 1)
  })
})
