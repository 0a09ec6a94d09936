// The circuit breaker (issue 24, acceptance 3): with the server stopped, the first 5 queries fail
// with the connection error and the next ones at once with DATABASE_UNAVAILABLE; once the server
// is back, the first query after resetTimeoutMillis closes the circuit; circuitOpen and
// circuitClose arrive in that order; state in statistics, health and metrics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, withManager, sleep, until } from './helpers.mjs'
import { startCluster } from './harness/cluster.mjs'

const cluster = await startCluster()
test.after(() => cluster.stop())

test('five failed connects open the circuit; calls then fail at once; the first query after the reset closes it', { timeout: 60000 }, async (t) => {
  await cluster.stopServer()
  let restarted = false
  t.after(() => restarted || cluster.start()) // the next test needs the server, even after a failure
  const events = []
  // min: 0, so that no background attempt to keep `min` connections probes before the query does.
  await withManager({ connectionString: cluster.url, min: 0, circuitBreaker: { resetTimeoutMillis: 800 }, logLevel: 'off' }, async (db) => {
    db.on('circuitOpen', (error) => events.push(['open', error.code]))
    db.on('circuitClose', () => events.push(['close']))
    for (let i = 0; i < 5; i++) {
      const e = await db.query('SELECT 1').catch((e) => e)
      assert.equal(e.code, 'ECONNREFUSED', `attempt ${i + 1}: ${e.message}`)
    }
    assert.equal(db.getPoolStatistics().circuit, 'open')
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      const e = await db.query('SELECT 1').catch((e) => e)
      const took = performance.now() - started
      assert.equal(e.code, 'DATABASE_UNAVAILABLE', e.message)
      assert.match(e.message, /the last connection attempts failed \(ECONNREFUSED: .*\), so calls that need a new connection fail at once; the next attempt is in \d+ ms/)
      // "At once": a millisecond or two, tens on a loaded machine; a call that waited for the
      // half-open probe would take up to resetTimeoutMillis (800 ms).
      assert.ok(took < 200, `took ${took.toFixed(2)} ms`)
    }
    const health = await db.getHealthStatus({ timeoutMillis: 500 })
    assert.deepEqual([health.status, health.error.code, health.circuit], ['unhealthy', 'DATABASE_UNAVAILABLE', 'open'])
    assert.match(db.metrics(), /pg_rust_pool_circuit_open 1\n[\s\S]*pg_rust_pool_circuit_openings_total 1\n/)
    await cluster.start()
    restarted = true
    await sleep(850)
    assert.equal(db.getPoolStatistics().circuit, 'half-open')
    assert.equal((await db.query('SELECT 1 AS x')).rows[0].x, 1)
    assert.equal(db.getPoolStatistics().circuit, 'closed')
    await until(() => events.length === 2, { what: 'the circuitClose event' }) // events cross to JS asynchronously
    assert.deepEqual(events, [['open', 'ECONNREFUSED'], ['close']])
    assert.match(db.metrics(), /pg_rust_pool_circuit_open 0\n/)
  })
})

test('idle connections that still work keep serving while the circuit is open', { timeout: 60000 }, async () => {
  // A database of its own, which a connection to another one can close to new connections.
  const admin = new DatabaseManager({ connectionString: cluster.url, max: 1 })
  await admin.query('CREATE DATABASE circuit_idle')
  const url = cluster.url.replace(/\/postgres$/, '/circuit_idle')
  await withManager({ connectionString: url, max: 2, circuitBreaker: { failureThreshold: 1, resetTimeoutMillis: 60000 }, logLevel: 'off' }, async (db) => {
    const client = await db.getClient()
    try {
      // New connections are refused from now on; the one the client holds goes on working.
      await admin.query('ALTER DATABASE circuit_idle ALLOW_CONNECTIONS false')
      const e = await db.query('SELECT 1').catch((e) => e)
      assert.equal(e.code, '55000', e.message)
      assert.equal(db.getPoolStatistics().circuit, 'open')
      assert.equal((await db.query('SELECT 1').catch((e) => e)).code, 'DATABASE_UNAVAILABLE')
      await admin.query('ALTER DATABASE circuit_idle ALLOW_CONNECTIONS true')
    } finally {
      await client.release()
    }
    // Back in the pool, idle, the connection serves while the circuit stays open.
    assert.equal((await db.query('SELECT 2 AS x')).rows[0].x, 2)
    assert.equal(db.getPoolStatistics().circuit, 'open')
  })
  await admin.query('DROP DATABASE circuit_idle')
  await admin.close()
})

test('circuitBreaker: false never opens', { timeout: 60000 }, async () => {
  await cluster.stopServer()
  try {
    await withManager({ connectionString: cluster.url, circuitBreaker: false, logLevel: 'off' }, async (db) => {
      for (let i = 0; i < 8; i++) {
        assert.equal((await db.query('SELECT 1').catch((e) => e)).code, 'ECONNREFUSED')
      }
      assert.equal(db.getPoolStatistics().circuit, 'closed')
    })
  } finally {
    await cluster.start()
  }
})
