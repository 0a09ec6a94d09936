// Per-query deadlines and AbortSignal (issue 24, acceptance 2): a statement past its deadline
// rejects with QUERY_TIMEOUT and is cancelled on the server, whose backend is idle right after;
// the same through an AbortSignal (AbortError, ABORT_ERR, the signal's reason as cause); a wait
// for a connection gives up without sending anything; a statement that ignores its cancel gets
// its connection closed after cancelTimeoutMillis, never reused; random short deadlines under load
// leave the pool consistent and never fail a query that had none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, observer, uniqueName, sleep, withManager, eventually, clientElsewhere } from './helpers.mjs'
import { startCluster } from './harness/cluster.mjs'

const watcher = await observer()
test.after(() => watcher.end())

async function states(applicationName) {
  const { rows } = await watcher.query(
    'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [applicationName])
  return rows
}

test('pg_sleep(10) with timeoutMillis 200 rejects with QUERY_TIMEOUT at 200 ms, not 10 s, and the backend is idle right after', async () => {
  const applicationName = uniqueName('qt')
  await withManager({ max: 2, applicationName }, async (db) => {
    await db.query('SELECT 1') // a connection exists: the timing is the statement's
    const started = Date.now()
    const e = await db.query({ text: 'SELECT pg_sleep(10)', timeoutMillis: 200 }).catch((e) => e)
    const elapsed = Date.now() - started
    assert.equal(e.code, 'QUERY_TIMEOUT', e.message)
    assert.equal(e.name, 'DatabaseError')
    assert.match(e.message, /took longer than its timeout \(200 ms, waiting for a connection included\): it was cancelled on the server/)
    // Seconds of slack for a loaded machine, and still far from the statement's 10 s.
    assert.ok(elapsed >= 200 && elapsed < 3000, `rejected after ${elapsed} ms`)
    // Cancelled: idle within moments (a statement left running would be active for 10 s).
    await eventually(async () => (await states(applicationName)).every((r) => r.state === 'idle'), 2000)
    const rows = await states(applicationName)
    assert.ok(rows.every((r) => r.state === 'idle'), JSON.stringify(rows))
    // The cancelled connection serves the next query.
    assert.equal((await db.query('SELECT 1 AS x')).rows[0].x, 1)
    assert.equal(db.getPoolStatistics().totalCount, rows.length)
  })
})

test('the same through an AbortSignal aborted at 200 ms: AbortError with the reason as cause', async () => {
  const applicationName = uniqueName('qt-abort')
  await withManager({ max: 2, applicationName }, async (db) => {
    await db.query('SELECT 1')
    const controller = new AbortController()
    const reason = new Error('client went away')
    setTimeout(() => controller.abort(reason), 200)
    const started = Date.now()
    const e = await db.query({ text: 'SELECT pg_sleep(10)', signal: controller.signal }).catch((e) => e)
    const elapsed = Date.now() - started
    assert.equal(e.name, 'AbortError')
    assert.equal(e.code, 'ABORT_ERR')
    assert.equal(e.cause, reason)
    assert.ok(elapsed >= 200 && elapsed < 3000, `rejected after ${elapsed} ms`)
    assert.ok(await eventually(async () => (await states(applicationName)).every((r) => r.state === 'idle'), 2000), 'cancelled on the server')
    // An already-aborted signal rejects at once and sends nothing.
    const before = db.getPoolStatistics().queriesExecuted
    const again = await db.query({ text: 'SELECT 1', signal: controller.signal }).catch((e) => e)
    assert.equal(again.name, 'AbortError')
    assert.equal(again.cause, reason)
    assert.equal(db.getPoolStatistics().queriesExecuted, before)
    // A signal that never fires changes nothing.
    assert.equal((await db.query({ text: 'SELECT 2 AS x', signal: new AbortController().signal })).rows[0].x, 2)
  })
})

test('a query waiting for a connection gives up at its deadline; nothing is sent', async () => {
  const applicationName = uniqueName('qt-wait')
  await withManager({ max: 1, applicationName }, async (db) => {
    // Another request holds the only connection, for 3 s at the most: a query that waited for
    // it rather than for its own deadline would settle after 3 s.
    const holder = await clientElsewhere(db)
    const letGo = setTimeout(() => holder.release(), 3000)
    const started = Date.now()
    const e = await db.query({ text: 'SELECT 1', timeoutMillis: 150 }).catch((e) => e)
    assert.equal(e.code, 'QUERY_TIMEOUT')
    assert.match(e.message, /did not get a connection within its timeout \(150 ms/)
    assert.ok(Date.now() - started < 1500, `settled after ${Date.now() - started} ms`)
    clearTimeout(letGo)
    await holder.release()
    assert.equal((await db.query('SELECT 3 AS x')).rows[0].x, 3)
    const s = db.getPoolStatistics()
    assert.deepEqual([s.totalCount, s.idleCount, s.activeConnections, s.waitingCount], [1, 1, 0, 0])
  })
})

test('queryTimeoutMillis (and pg\'s query_timeout) limit every query; timeoutMillis 0 lifts it for one', async () => {
  for (const options of [{ queryTimeoutMillis: 150 }, { query_timeout: 150 }]) {
    await withManager({ max: 2, ...options }, async (db) => {
      const e = await db.query('SELECT pg_sleep(5)').catch((e) => e)
      assert.equal(e.code, 'QUERY_TIMEOUT', e.message)
      assert.equal((await db.query({ text: 'SELECT pg_sleep(0.3), 1 AS x', timeoutMillis: 0 })).rows[0].x, 1)
      assert.equal((await db.query({ text: 'SELECT pg_sleep(0.3), 2 AS x', timeoutMillis: 1000 })).rows[0].x, 2)
    })
  }
  for (const [options, pattern] of [
    [{ queryTimeoutMillis: -1 }, /`queryTimeoutMillis` must be a whole number of milliseconds/],
    [{ queryTimeoutMillis: 5, query_timeout: 5 }, /give one of them/],
  ]) {
    assert.throws(() => new DatabaseManager(options), (e) => e.code === 'INVALID_CONFIG' && pattern.test(e.message))
  }
  await withManager({}, async (db) => {
    for (const bad of [{ timeoutMillis: -1 }, { timeoutMillis: 1.5 }, { signal: {} }]) {
      const e = await db.query({ text: 'SELECT 1', ...bad }).catch((e) => e)
      assert.equal(e.code, 'INVALID_ARGUMENT', JSON.stringify(bad))
    }
  })
})

test('a statement that ignores its cancel (server stopped with SIGSTOP) has its connection closed after cancelTimeoutMillis', { timeout: 60000 }, async () => {
  const cluster = await startCluster()
  try {
    await withManager({ connectionString: cluster.url, max: 1, cancelTimeoutMillis: 1500, connectionTimeoutMillis: 3000, logLevel: 'off' }, async (db) => {
      const pid = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      const running = db.query({ text: 'SELECT pg_sleep(2)', timeoutMillis: 200 })
      await sleep(50)
      // The backend and the postmaster stop: neither the statement nor the cancel request moves.
      process.kill(pid, 'SIGSTOP')
      process.kill(cluster.pid, 'SIGSTOP')
      const started = Date.now()
      const e = await running.catch((e) => e)
      assert.equal(e.code, 'QUERY_TIMEOUT')
      // The caller has its answer at the deadline (about 150 ms after the stop), frozen server or
      // not, and not once its cancel is given up (1650 ms).
      const waited = Date.now() - started
      assert.ok(waited < 1000, `settled ${waited} ms after the stop`)
      // Still frozen past cancelTimeoutMillis: the connection is given up.
      await sleep(2500)
      process.kill(cluster.pid, 'SIGCONT')
      process.kill(pid, 'SIGCONT')
      // That connection was closed, not reused: the next query runs on a new backend.
      const next = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      assert.notEqual(next, pid)
      assert.ok(db.getPoolStatistics().connectionsRemoved >= 1)
    })
  } finally {
    await cluster.stop()
  }
})

test('1,000 queries with random short deadlines under load: consistent statistics, no query without a deadline fails', { timeout: 60000 }, async () => {
  await withManager({ max: 4, applicationName: uniqueName('qt-load') }, async (db) => {
    const calls = []
    for (let i = 0; i < 1000; i++) {
      const limited = i % 2 === 0
      const text = `SELECT pg_sleep(${(i % 7) / 1000}), ${i} AS i`
      calls.push(limited
        ? db.query({ text, timeoutMillis: 1 + (i * 37) % 15 }).then(() => 'ok', (e) => e.code)
        : db.query(text).then((r) => (r.rows[0].i === i ? 'ok' : 'wrong'), (e) => `unlimited ${e.code}`))
    }
    const outcomes = await Promise.all(calls)
    const unlimited = outcomes.filter((o, i) => i % 2 === 1)
    assert.deepEqual([...new Set(unlimited)], ['ok'])
    const limited = new Set(outcomes.filter((o, i) => i % 2 === 0))
    for (const o of limited) assert.ok(o === 'ok' || o === 'QUERY_TIMEOUT', o)
    const s = db.getPoolStatistics()
    assert.equal(s.activeConnections + s.idleConnections, s.totalConnections)
    assert.equal(s.waitingCount, 0)
    assert.equal(s.activeConnections, 0)
    assert.equal((await db.query('SELECT 1 AS x')).rows[0].x, 1)
  })
})

test('a client query with timeoutMillis or a signal is cancelled on the server and the client carries on', async () => {
  const applicationName = uniqueName('qt-client')
  await withManager({ max: 2, applicationName }, async (db) => {
    const client = await db.getClient()
    try {
      const started = Date.now()
      const e = await client.query({ text: 'SELECT pg_sleep(10)', timeoutMillis: 200 }).catch((e) => e)
      assert.equal(e.code, 'QUERY_TIMEOUT', e.message)
      assert.ok(Date.now() - started < 3000, `rejected after ${Date.now() - started} ms`)
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 100)
      const aborted = await client.query({ text: 'SELECT pg_sleep(10)', signal: controller.signal }).catch((e) => e)
      assert.equal(aborted.name, 'AbortError')
      // The same connection, idle, serves the client's next query.
      const { rows } = await client.query('SELECT 1 AS x')
      assert.equal(rows[0].x, 1)
      assert.ok((await states(applicationName)).every((r) => r.state === 'idle'))
      // Queued behind the client's own slow query, a query whose time runs out is never sent.
      const slow = client.query('SELECT pg_sleep(0.4)')
      const queued = await client.query({ text: 'SELECT 2', timeoutMillis: 100 }).catch((e) => e)
      assert.equal(queued.code, 'QUERY_TIMEOUT')
      assert.match(queued.message, /did not get its turn on the client within its timeout \(100 ms\); nothing was sent/)
      await slow
    } finally {
      await client.release()
    }
  })
})

test('inside executeTransaction a query past its timeout aborts the transaction, which rolls back', async () => {
  await withManager({ max: 1 }, async (db) => {
    await db.query('DROP TABLE IF EXISTS qt_rows; CREATE TABLE qt_rows (id int)')
    const e = await db.executeTransaction(async (client) => {
      await client.query('INSERT INTO qt_rows VALUES (1)')
      await client.query({ text: 'SELECT pg_sleep(10)', timeoutMillis: 200 })
    }).catch((e) => e)
    assert.equal(e.code, 'QUERY_TIMEOUT', e.message)
    assert.equal((await db.query('SELECT count(*)::int AS n FROM qt_rows')).rows[0].n, 0)
    await db.query('DROP TABLE qt_rows')
  })
})

test('a client query on a frozen server answers at its deadline; past cancelTimeoutMillis the client\'s connection is closed', { timeout: 60000 }, async () => {
  const cluster = await startCluster()
  try {
    await withManager({ connectionString: cluster.url, max: 1, cancelTimeoutMillis: 1500, logLevel: 'off' }, async (db) => {
      const client = await db.getClient()
      const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      const running = client.query({ text: 'SELECT pg_sleep(2)', timeoutMillis: 200 })
      await sleep(50)
      process.kill(pid, 'SIGSTOP')
      process.kill(cluster.pid, 'SIGSTOP')
      const started = Date.now()
      assert.equal((await running.catch((e) => e)).code, 'QUERY_TIMEOUT')
      // At the deadline, not once its cancel is given up (as above).
      assert.ok(Date.now() - started < 1000, `settled ${Date.now() - started} ms after the stop`)
      await sleep(2500)
      process.kill(cluster.pid, 'SIGCONT')
      process.kill(pid, 'SIGCONT')
      const later = await client.query('SELECT 1').catch((e) => e)
      assert.equal(later.code, 'CONNECTION_CLOSED', later.message)
      assert.match(later.message, /did not end within cancelTimeoutMillis/)
      await client.release()
      assert.notEqual((await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid)
    })
  } finally {
    await cluster.stop()
  }
})
