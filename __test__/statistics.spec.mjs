// getPoolStatistics(): sampled every millisecond under 500 concurrent queries on max: 5, the sizes
// are always consistent; afterwards the counters equal what the test caused; lastError is redacted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, uniqueName } from './helpers.mjs'

const FIELDS = [
  'totalCount', 'idleCount', 'waitingCount', 'totalConnections', 'idleConnections', 'activeConnections',
  'waitingRequests', 'maxConnections', 'minConnections', 'utilization', 'queriesExecuted', 'transactionsExecuted',
  'errors', 'poolExhaustedCount', 'connectionsCreated', 'connectionsRemoved', 'acquireTime', 'queryTime', 'lastError', 'circuit', 'profile', 'listen',
]

function inconsistency(s) {
  const numbers = [s.totalCount, s.idleCount, s.waitingCount, s.activeConnections, s.utilization, s.queriesExecuted,
    s.errors, s.poolExhaustedCount, s.connectionsCreated, s.connectionsRemoved, s.acquireTime.p99, s.queryTime.p99]
  if (numbers.some((n) => typeof n !== 'number' || n < 0 || Number.isNaN(n))) return 'a negative or missing value'
  if (s.activeConnections + s.idleConnections !== s.totalConnections) return 'active + idle ≠ total'
  if (s.totalConnections > s.maxConnections) return 'total > max'
  if (s.totalCount !== s.totalConnections || s.idleCount !== s.idleConnections || s.waitingCount !== s.waitingRequests) return 'node-postgres names disagree'
  if (s.utilization !== (s.activeConnections * 100) / s.maxConnections) return 'utilization ≠ active / max'
  return null
}

test('500 concurrent queries on max: 5: every sample is consistent and the counters are exact', async () => {
  await withManager({ max: 5, applicationName: uniqueName('stats') }, async (db) => {
    const before = db.getPoolStatistics()
    assert.deepEqual(Object.keys(before).sort(), [...FIELDS].filter((f) => f !== 'lastError').sort(), 'no lastError before any error')
    assert.equal(before.queriesExecuted, 0)
    assert.equal(before.maxConnections, 5)

    const samples = []
    const sampler = setInterval(() => samples.push(db.getPoolStatistics()), 1)
    const failing = (i) => i % 50 === 0
    const outcomes = await Promise.allSettled(Array.from({ length: 500 }, (_, i) =>
      db.query(failing(i) ? 'SELECT 1 / 0' : 'SELECT $1::int AS i, pg_sleep(0.002)::text', failing(i) ? undefined : [i])))
    clearInterval(sampler)
    samples.push(db.getPoolStatistics())

    const rejected = outcomes.filter((o) => o.status === 'rejected')
    assert.equal(rejected.length, 10)
    assert.ok(rejected.every((o) => o.reason.code === '22012'))
    assert.ok(samples.length > 20, `the sampler ran (${samples.length} samples)`)
    for (const s of samples) assert.equal(inconsistency(s), null, JSON.stringify(s))
    assert.ok(samples.some((s) => s.waitingRequests > 0), 'some sample saw requests waiting')
    assert.ok(samples.some((s) => s.activeConnections === 5), 'some sample saw the pool fully used')

    // 20 transactions, 5 of which throw and roll back: each sends BEGIN and one query, and the
    // 15 that return send COMMIT; the rollbacks happen on release and are not query calls.
    const transactions = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => db.executeTransaction(async (client) => {
      await client.query('SELECT $1::int AS i', [i])
      if (i % 4 === 0) throw new Error('roll back')
    })))
    assert.equal(transactions.filter((t) => t.status === 'rejected').length, 5)

    const after = db.getPoolStatistics()
    assert.equal(after.queriesExecuted, 500 + 20 * 2 + 15)
    assert.equal(after.errors, 10)
    assert.equal(after.transactionsExecuted, 20)
    assert.ok(after.connectionsCreated >= 1 && after.connectionsCreated <= 5)
    assert.equal(after.totalConnections, after.connectionsCreated - after.connectionsRemoved)
    assert.ok(after.poolExhaustedCount > 0 && after.poolExhaustedCount <= 500 + 20, `${after.poolExhaustedCount} acquires waited`)
    assert.equal(after.activeConnections, 0)
    assert.equal(after.utilization, 0)
    for (const key of ['acquireTime', 'queryTime']) {
      const { mean, p50, p99 } = after[key]
      assert.ok(mean > 0 && p50 > 0 && p99 >= p50, `${key}: ${JSON.stringify(after[key])}`)
    }
    assert.ok(after.queryTime.p50 >= 2, 'queries sleep 2 ms')
    assert.equal(after.lastError.code, '22012')
    assert.equal(after.lastError.message, 'division by zero')
    assert.ok(Math.abs(after.lastError.at - Date.now()) < 60000)
  })
})

test('lastError never shows the password, even when the server quotes it', async () => {
  const password = process.env.PGPASSWORD
  assert.ok(password && password.length >= 4, 'the harness sets a password')
  await withManager({ max: 1 }, async (db) => {
    await assert.rejects(db.query('SELECT $1::int', [password]), { code: '22P02' })
    await assert.rejects(db.query(`SELECT 'postgres://u:${password}x@h/db'::int`), { code: '22P02' })
    const { lastError, errors, queriesExecuted } = db.getPoolStatistics()
    assert.deepEqual([errors, queriesExecuted], [2, 2])
    assert.equal(lastError.code, '22P02')
    assert.ok(!lastError.message.includes(password), lastError.message)
    assert.match(lastError.message, /postgres:\/\/u:\*\*\*@h\/db/)
  })
})
