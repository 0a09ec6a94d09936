// getHealthStatus(): healthy with the server's real version and time; unhealthy with an error code
// when the server is stopped, and at its timeoutMillis when it is frozen (not at the default 5 s,
// nor at connectionTimeoutMillis); isReplica on a streaming replica. It never rejects.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster, startReplica } from './harness/cluster.mjs'
import { withChildren } from './harness/processes.mjs'
import { DatabaseManager, withManager, observer, until } from './helpers.mjs'

const HEALTH_KEYS = ['status', 'responseTimeMs', 'serverVersion', 'databaseTime', 'database', 'isReplica', 'encrypted', 'tls', 'circuit', 'pool']

/** Runs fn with a cluster of its own (this spec stops, freezes and replicates servers). */
async function withCluster(fn, start = () => startCluster()) {
  const cluster = await start()
  try {
    return await fn(cluster)
  } finally {
    await cluster.stop()
  }
}

test('healthy: the real server version, the server\'s current time, the pool', async () => {
  const client = await observer()
  const { rows } = await client.query('SHOW server_version')
  await client.end()
  await withManager({ max: 2 }, async (db) => {
    const h = await db.getHealthStatus()
    assert.deepEqual(Object.keys(h), HEALTH_KEYS, 'no error when healthy')
    assert.equal(h.status, 'healthy')
    assert.equal(h.serverVersion, rows[0].server_version)
    assert.ok(h.databaseTime instanceof Date)
    // Seconds of slack for a loaded machine; a time misread (its zone, its unit) is off by far more.
    assert.ok(Math.abs(h.databaseTime.getTime() - Date.now()) < 5000, `server time ${h.databaseTime.toISOString()}`)
    assert.equal(h.database, process.env.PGDATABASE)
    assert.equal(h.isReplica, false)
    // The harness's default server has no TLS.
    assert.deepEqual([h.encrypted, h.tls], [false, null])
    assert.ok(h.responseTimeMs > 0 && h.responseTimeMs < 5000)
    assert.equal(h.pool.totalConnections, 1)
    assert.equal(h.pool.activeConnections, 0, 'the check gave its connection back')
    assert.equal(h.pool.queriesExecuted, 0, 'the check is not counted as a query')
  })
})

test('bad timeoutMillis is the only rejection', async () => {
  await withManager({}, async (db) => {
    await assert.rejects(db.getHealthStatus({ timeoutMillis: 0 }), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(db.getHealthStatus({ timeoutMillis: 1.5 }), { code: 'INVALID_ARGUMENT' })
  })
})

test('server stopped: unhealthy with an error code; healthy again after a restart', async () => {
  await withCluster(async (cluster) => {
    // min: 0, so that the pool holds no connection once the server ends it, and the check opens
    // a new one. (With one still idle, a check on a loaded machine can reach it before the pool
    // has seen it end, and report CONNECTION_CLOSED.)
    const db = new DatabaseManager({ connectionString: cluster.url, min: 0, max: 2 })
    try {
      assert.equal((await db.getHealthStatus()).status, 'healthy')
      await cluster.stopServer()
      await until(() => db.getPoolStatistics().totalConnections === 0, { what: 'the pool letting go of the connection the server ended' })
      const h = await db.getHealthStatus({ timeoutMillis: 2000 })
      assert.equal(h.status, 'unhealthy')
      assert.equal(h.error.code, 'ECONNREFUSED')
      assert.match(h.error.message, /could not connect/)
      assert.ok(!h.error.message.includes(cluster.password))
      assert.deepEqual([h.serverVersion, h.databaseTime, h.database, h.isReplica, h.encrypted, h.tls], [null, null, null, null, null, null])
      assert.equal(typeof h.pool.totalConnections, 'number')
      await cluster.start()
      assert.equal((await db.getHealthStatus()).status, 'healthy')
    } finally {
      await db.close()
    }
  })
})

test('server frozen: unhealthy at timeoutMillis, and the hung connection is discarded', async () => {
  await withCluster(async (cluster) => {
    // min: 0: a background attempt to keep `min` connections would wait on the frozen server.
    const warm = new DatabaseManager({ connectionString: cluster.url, min: 0, max: 2 })
    const cold = new DatabaseManager({ connectionString: cluster.url, min: 0, max: 2 })
    let frozen = []
    try {
      await warm.query('SELECT 1') // an idle connection: the check's query is what hangs
      frozen = withChildren(cluster.pid)
      for (const pid of frozen) process.kill(pid, 'SIGSTOP')
      for (const [db, phase] of [[warm, /did not answer/], [cold, /got no connection/]]) {
        const started = performance.now()
        const h = await db.getHealthStatus({ timeoutMillis: 1000 })
        const elapsed = performance.now() - started
        // timeoutMillis (1 s) and up to 2 s late on a loaded machine; a check that ignored it would
        // end at the default 5 s, or wait for connectionTimeoutMillis (30 s) or the thaw.
        assert.ok(elapsed < 3000, `resolved after ${Math.round(elapsed)} ms`)
        assert.equal(h.status, 'unhealthy')
        assert.equal(h.error.code, 'QUERY_TIMEOUT')
        assert.match(h.error.message, phase)
      }
      const s = warm.getPoolStatistics()
      assert.deepEqual([s.totalConnections, s.activeConnections, s.connectionsRemoved], [0, 0, 1],
        'the connection whose check hung left the pool')
    } finally {
      for (const pid of frozen) {
        try { process.kill(pid, 'SIGCONT') } catch {}
      }
    }
    try {
      assert.equal((await warm.getHealthStatus()).status, 'healthy', 'thawed: healthy on a new connection')
      assert.deepEqual((await warm.query('SELECT 2 AS n')).rows, [{ n: 2 }])
    } finally {
      await warm.close()
      await cold.close()
    }
  })
})

test('a streaming replica (harness-started) reports isReplica', { timeout: 120000 }, async () => {
  await withCluster(async (primary) => {
    await withCluster(async (replica) => {
      for (const [cluster, expected] of [[primary, false], [replica, true]]) {
        await withManager({ connectionString: cluster.url }, async (db) => {
          const h = await db.getHealthStatus()
          assert.equal(h.status, 'healthy')
          assert.equal(h.isReplica, expected)
        })
      }
    }, () => startReplica(primary))
  })
})
