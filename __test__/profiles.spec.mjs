// Per-environment defaults and isConnected (issue 24): NODE_ENV=production with no pool options
// gives min 5, max 20 (visible in the statistics), explicit options override it, unset is
// development (min 2, max 10); a profile's min gives way to an explicit smaller max; isConnected
// follows the pool's own attempts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, withManager, eventually } from './helpers.mjs'
import { startCluster } from './harness/cluster.mjs'

async function withNodeEnv(value, fn) {
  const saved = process.env.NODE_ENV
  if (value === undefined) delete process.env.NODE_ENV
  else process.env.NODE_ENV = value
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = saved
  }
}

test('NODE_ENV=production: min 5, max 20 in the statistics, the min opened in the background; options override', async () => {
  await withNodeEnv('production', () => withManager({}, async (db) => {
    const s = db.getPoolStatistics()
    assert.deepEqual([s.profile, s.minConnections, s.maxConnections], ['production', 5, 20])
    assert.match(String(db), /profile=production\)$/)
    await eventually(() => db.getPoolStatistics().idleConnections === 5)
  }))
  await withNodeEnv('production', () => withManager({ min: 1, max: 3 }, async (db) => {
    const s = db.getPoolStatistics()
    assert.deepEqual([s.profile, s.minConnections, s.maxConnections], ['production', 1, 3])
  }))
})

test('unset NODE_ENV is development: min 2, max 10; { max: 1 } stays valid', async () => {
  await withNodeEnv(undefined, async () => {
    await withManager({}, async (db) => {
      const s = db.getPoolStatistics()
      assert.deepEqual([s.profile, s.minConnections, s.maxConnections], ['development', 2, 10])
    })
    await withManager({ max: 1 }, async (db) => {
      const s = db.getPoolStatistics()
      assert.deepEqual([s.minConnections, s.maxConnections], [1, 1])
    })
    await withNodeEnv('test', () => withManager({}, async (db) => assert.equal(db.getPoolStatistics().profile, 'development')))
  })
})

test('isConnected: false before any attempt and while the database is down, true once it answers', { timeout: 30000 }, async () => {
  const cluster = await startCluster()
  try {
    const db = new DatabaseManager({ connectionString: cluster.url, min: 0, logLevel: 'off' })
    try {
      assert.equal(db.isConnected, false)
      await db.query('SELECT 1')
      assert.equal(db.isConnected, true)
      await cluster.stopServer()
      await db.query('SELECT 1').catch(() => {})
      await db.query('SELECT 1').catch(() => {})
      assert.equal(db.isConnected, false)
      await cluster.start()
      await db.waitForDatabase({ timeoutMillis: 10000 })
      assert.equal(db.isConnected, true)
    } finally {
      await db.close()
    }
  } finally {
    await cluster.stop()
  }
})
