// Acceptance (issue 5, point 5): waitForDatabase({ timeoutMillis }) retries connecting, with
// exponential backoff, until the server accepts: it resolves soon after a server that was down
// starts (not at its timeout), and with no server it gives up after the timeout with CONNECT_TIMEOUT and the number
// of attempts.
//
// The first test stops and starts a server, so it has a cluster of its own. The two slow tests
// (3 s and 4 s of waiting) run concurrently.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster, freePort } from './harness/cluster.mjs'
import { DatabaseManager, rejectsWith, withManager, uniqueName, sleep } from './helpers.mjs'

describe('waitForDatabase', { concurrency: true }, () => {
  test('with the server stopped, resolves soon after the server is started 3 s later', async () => {
    const cluster = await startCluster()
    try {
      await cluster.stopServer()
      await withManager({ connectionString: cluster.url, applicationName: uniqueName('wait-db') }, async (db) => {
        let resolvedAt = null
        const waiting = db.waitForDatabase({ timeoutMillis: 10000 }).then(() => { resolvedAt = performance.now() })
        await sleep(3000)
        assert.equal(resolvedAt, null, 'still waiting while the server is down')
        await cluster.start() // returns once pg_isready sees the server accept connections
        const acceptedAt = performance.now()
        await waiting
        // Attempts are at most 500 ms apart, then one connection is opened (SCRAM over TCP, slow
        // on a loaded machine): 2.5 s. Waiting out timeoutMillis would take 6 s more.
        const after = resolvedAt - acceptedAt
        assert.ok(after <= 2500, `resolved ${Math.round(after)} ms after the server accepted connections`)
        assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
      })
    } finally {
      await cluster.stop()
    }
  })

  test('with no server, rejects after timeoutMillis: 4000 with CONNECT_TIMEOUT and the number of attempts', async () => {
    const port = await freePort() // nothing listens there
    await withManager({ host: '127.0.0.1', port, user: 'nobody', password: 'x', database: 'none' }, async (db) => {
      const start = performance.now()
      const err = await rejectsWith(db.waitForDatabase({ timeoutMillis: 4000 }), 'CONNECT_TIMEOUT', /within 4000 ms/)
      const elapsed = performance.now() - start
      assert.ok(elapsed >= 3900 && elapsed <= 6000, `rejected after ${Math.round(elapsed)} ms`)
      const attempts = Number(err.message.match(/\((\d+) attempts\)/)?.[1])
      // Backing off from 100 ms ×1.5, capped at 500 ms between attempts, makes about 11 attempts
      // in 4 s (0, 0.1, 0.25, 0.48, 0.81, 1.31, 1.81, …, 3.81); a fixed 100 ms retry would make
      // about 40, no retry 1; a loaded machine can only make fewer.
      assert.ok(attempts >= 6 && attempts <= 12, `${attempts} attempts: ${err.message}`)
      assert.match(err.message, /last error: .*refused|last error: .*connect/i, 'names the last error')
    })
  })
})

test('waitForDatabase on a closed manager is POOL_CLOSED; a bad timeoutMillis is INVALID_ARGUMENT', async () => {
  const db = new DatabaseManager()
  await rejectsWith(db.waitForDatabase({ timeoutMillis: -1 }), 'INVALID_ARGUMENT', /timeoutMillis/)
  await rejectsWith(db.waitForDatabase({ timeoutMillis: 1.5 }), 'INVALID_ARGUMENT', /timeoutMillis/)
  await db.close()
  await rejectsWith(db.waitForDatabase({ timeoutMillis: 1000 }), 'POOL_CLOSED')
})
