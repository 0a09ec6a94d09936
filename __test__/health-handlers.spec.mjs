// healthHandlers(manager): mounted on a real Express 5 app and on a node:http server, every
// endpoint answers with its status and JSON (text for /metrics); /ready and /health/database turn
// 503 while the database is stopped and 200 again once it is back, without restarting the app.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import express from 'express'
import { startCluster } from './harness/cluster.mjs'
import { DatabaseManager, healthHandlers } from './helpers.mjs'

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)))
}

async function get(base, path, method = 'GET') {
  const res = await fetch(base + path, { method })
  const type = res.headers.get('content-type')
  const text = await res.text()
  return { status: res.status, type, body: type?.startsWith('application/json') && text ? JSON.parse(text) : text, cache: res.headers.get('cache-control') }
}

const apps = {
  async express(handlers) {
    const app = express()
    app.get('/health', handlers.health)
    app.get('/health/database', handlers.database)
    app.get('/ready', handlers.ready)
    app.get('/live', handlers.live)
    app.get('/status', handlers.status)
    app.get('/metrics', handlers.metrics)
    app.get('/other', (req, res) => res.json({ other: true }))
    return createServer(app)
  },
  async 'node:http'(handlers) {
    return createServer((req, res) => {
      if (!handlers.handle(req, res)) {
        res.statusCode = 404
        res.end('not found')
      }
    })
  },
  async 'express app.use(handle)'(handlers) {
    const app = express()
    app.use('/ops', handlers.handle)
    app.get('/other', (req, res) => res.json({ other: true }))
    return createServer(app)
  },
}

for (const [kind, make] of Object.entries(apps)) {
  test(`${kind}: each endpoint answers, and readiness follows the database`, { timeout: 60000 }, async () => {
    const cluster = await startCluster()
    const db = new DatabaseManager({ connectionString: cluster.url, name: 'api' })
    const server = await make(healthHandlers(db, { timeoutMillis: 2000 }))
    const prefix = kind.includes('app.use') ? '/ops' : ''
    try {
      const base = (await listen(server)) + prefix
      const json = 'application/json; charset=utf-8'

      const health = await get(base, '/health')
      assert.deepEqual([health.status, health.type, health.cache], [200, json, 'no-store'])
      assert.equal(health.body.status, 'healthy')
      assert.equal(health.body.isReplica, false)
      assert.ok(!Number.isNaN(Date.parse(health.body.databaseTime)))
      assert.equal(typeof health.body.pool.totalConnections, 'number')

      const database = await get(base, '/health/database')
      assert.equal(database.status, 200)
      assert.equal(database.body.status, 'healthy')
      assert.equal(database.body.pool, undefined, 'the database part alone')
      assert.equal(database.body.serverVersion, health.body.serverVersion)

      assert.deepEqual(await get(base, '/ready'), { status: 200, type: json, cache: 'no-store', body: { status: 'ready', database: 'healthy' } })
      const live = await get(base, '/live')
      assert.deepEqual([live.status, live.body.status], [200, 'alive'])
      const status = await get(base, '/status')
      assert.deepEqual([status.status, status.body.status, status.body.pool.maxConnections], [200, 'ok', 10])

      const metrics = await get(base, '/metrics')
      assert.deepEqual([metrics.status, metrics.type], [200, 'text/plain; version=0.0.4; charset=utf-8'])
      assert.match(metrics.body, /^# HELP pg_rust_pool_connections /)
      assert.match(metrics.body, /\npg_rust_pool_connections_max\{pool="api"\} 10\n/)

      const head = await get(base, '/ready', 'HEAD')
      assert.deepEqual([head.status, head.body], [200, ''])

      await cluster.stopServer()
      for (const path of ['/ready', '/health/database', '/health']) {
        const r = await get(base, path)
        assert.equal(r.status, 503, `${path} while the database is stopped`)
        assert.equal(r.type, json)
        assert.equal(r.body.error.code, 'ECONNREFUSED', path)
      }
      assert.equal((await get(base, '/ready')).body.status, 'not ready')
      assert.equal((await get(base, '/live')).status, 200, 'alive without a database')
      assert.equal((await get(base, '/status')).status, 200)
      assert.equal((await get(base, '/metrics')).status, 200)

      await cluster.start()
      for (const path of ['/ready', '/health/database', '/health']) {
        assert.equal((await get(base, path)).status, 200, `${path} after the restart`)
      }
      if (kind !== 'node:http') assert.deepEqual((await get(base.replace(/\/ops$/, ''), '/other')).body, { other: true }, 'other routes still work')
      else assert.equal((await get(base, '/other')).status, 404)
    } finally {
      server.close()
      await db.close()
      await cluster.stop()
    }
  })
}

test('healthHandlers needs a manager and a valid timeout', () => {
  assert.throws(() => healthHandlers({}), TypeError)
  const db = new DatabaseManager()
  assert.throws(() => healthHandlers(db, { timeoutMillis: -1 }), { code: 'INVALID_ARGUMENT' })
  return db.close()
})
