// Streamed results (issue 26): manager.stream() and client.stream() give a query's rows in batches
// of `batchSize`, each fetched from the server only when the loop asks for it, with the rows and
// fields query() gives. What a user relies on: the server is not read ahead of the consumer
// (checked with a sequence the query advances per row, not with timings), and breaking out, an
// abort or an error ends the query on the server and hands the connection back clean at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, observer, uniqueName, rejectsWith, until, sleep } from './helpers.mjs'

/** Every kind of column the engine decodes, NULLs among them, 10 rows. */
const TYPED = `SELECT i, i::int8 * 3000000000 AS big, (i / 3.0)::numeric(10,4) AS num, i % 2 = 0 AS even,
  jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)) AS doc, ('{"n":' || i || '}')::json AS js,
  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour' AS at, date '2024-01-01' + i AS day,
  CASE WHEN i % 4 = 0 THEN NULL ELSE 'row ' || i || ' é😀' END AS t, ARRAY[i, i + 1] AS arr,
  ARRAY['x', NULL, 'y' || i] AS texts, '\\x00ff'::bytea AS bin, (i || ' days')::interval AS span,
  ('10.0.0.' || i)::inet AS addr
  FROM generate_series(1, $1::int) AS i`

/**
 * The rows 1 to `n` as `i`, made one at a time as they are read: generate_series in the select
 * list (ProjectSet); in FROM, the server makes the whole set before the first row.
 */
const lazySeries = (n) => `(SELECT generate_series(1, ${n}) AS i) AS series`

/** Collects a stream's batches. */
async function batches(stream) {
  const out = []
  for await (const rows of stream) out.push(rows)
  return out
}

/** The state of each of the manager's backends, as pg_stat_activity shows them. */
async function states(watcher, applicationName) {
  const { rows } = await watcher.query('SELECT state FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [applicationName])
  return rows.map((r) => r.state)
}

test('rows and fields are those query() gives, in batches of batchSize; object and array rows', async () => {
  await withManager({ max: 2 }, async (db) => {
    const expected = await db.query(TYPED, [10])
    const stream = db.stream(TYPED, [10], { batchSize: 3 })
    assert.equal(stream.fields, undefined, 'not known before the first batch')
    const got = await batches(stream)
    assert.deepEqual(got.map((b) => b.length), [3, 3, 3, 1])
    assert.deepEqual(got.flat(), expected.rows)
    assert.deepEqual(stream.fields, expected.fields)
    assert.equal(stream.rowCount, 10)
    assert.equal(stream.command, 'SELECT')

    const arrays = await db.query({ text: TYPED, values: [9], rowMode: 'array' })
    const arrayStream = db.stream({ text: TYPED, values: [9], rowMode: 'array', batchSize: 3 })
    const arrayBatches = await batches(arrayStream)
    // 9 rows in 3s: the fourth fetch finds none and ends the stream without an empty batch.
    assert.deepEqual(arrayBatches.map((b) => b.length), [3, 3, 3])
    assert.deepEqual(arrayBatches.flat(), arrays.rows)
    assert.equal(arrayStream.rowCount, 9)

    // A query's own parsers (pg's per-query `types`), and no rows at all.
    const types = { getTypeParser: (oid) => (oid === 20 ? BigInt : (s) => s) }
    const [typed] = await batches(db.stream('SELECT 5::int8 AS n', [], { types }))
    assert.deepEqual(typed, [{ n: 5n }])
    const empty = db.stream('SELECT 1 AS x WHERE false')
    assert.deepEqual(await batches(empty), [])
    assert.deepEqual(empty.fields.map((f) => f.name), ['x'])
    assert.equal(empty.rowCount, 0)

    // readable(): the same rows, one per chunk.
    const readRows = []
    for await (const row of db.stream(TYPED, [10], { batchSize: 4 }).readable()) readRows.push(row)
    assert.deepEqual(readRows, expected.rows)
    assert.equal(db.getPoolStatistics().activeConnections, 0)
  })
})

test('with statementCache: false the rows are the same, and nothing stays prepared', async () => {
  await withManager({ max: 1, statementCache: false }, async (db) => {
    const expected = await db.query(TYPED, [5])
    assert.deepEqual((await batches(db.stream(TYPED, [5], { batchSize: 2 }))).flat(), expected.rows)
    // Only the statement of this query itself, prepared for its one run.
    const { rows } = await db.query('SELECT statement FROM pg_prepared_statements')
    assert.deepEqual(rows.map((r) => r.statement), ['SELECT statement FROM pg_prepared_statements'])
  })
})

test('breaking out after the first batch hands the connection back within 50 ms, idle on the server', async () => {
  const applicationName = uniqueName('stream-break')
  const watcher = await observer()
  try {
    await withManager({ max: 1, min: 1, applicationName }, async (db) => {
      await db.initialize()
      // Ten million rows, made one by one as they are read (a set-returning function in the
      // select list; one in FROM would be made whole first): draining them would take seconds.
      let first
      let stopped
      for await (const rows of db.stream(`SELECT i, md5(i::text) AS h FROM ${lazySeries(10000000)}`, [], { batchSize: 1000 })) {
        first = rows
        stopped = performance.now()
        break
      }
      const back = performance.now() - stopped
      assert.equal(first.length, 1000)
      assert.equal(db.getPoolStatistics().idleConnections, 1, 'back in the pool when the loop is left')
      assert.ok(back < 50, `the connection came back ${back.toFixed(1)} ms after the break`)
      // COMMIT went out before the connection came back; the server has run it once it shows idle.
      await until(async () => (await states(watcher, applicationName)).join() === 'idle', { what: 'the backend is idle' })
      assert.equal((await db.query('SELECT 1 AS one')).rows[0].one, 1)
    })
  } finally {
    await watcher.end()
  }
})

test('the server is read only as far as the consumer has read: a paused loop leaves the rest unproduced', async () => {
  const watcher = await observer()
  const sequence = `stream_seq_${process.pid}`
  try {
    await watcher.query(`DROP SEQUENCE IF EXISTS ${sequence}; CREATE SEQUENCE ${sequence}`)
    await withManager({ max: 1 }, async (db) => {
      // Each row the server produces advances the sequence, which other sessions see at once.
      const produced = async () => Number((await watcher.query(`SELECT last_value FROM ${sequence}`)).rows[0].last_value)
      const stream = db.stream(`SELECT nextval('${sequence}') AS n FROM ${lazySeries(1000000)}`, [], { batchSize: 100 })
      const first = await stream.next()
      const second = await stream.next()
      assert.deepEqual([first.value.at(-1).n, second.value.at(-1).n], ['100', '200'])
      // The consumer pauses: nothing more is produced while it does.
      await sleep(100)
      assert.equal(await produced(), 200)
      await stream.next()
      assert.equal(await produced(), 300)
      await stream.return()
      assert.equal(await produced(), 300, 'stopping runs no more of the query')
    })
  } finally {
    await watcher.query(`DROP SEQUENCE IF EXISTS ${sequence}`)
    await watcher.end()
  }
})

test('an error at row N rejects after the rows before it; the connection is back and idle', async () => {
  const applicationName = uniqueName('stream-error')
  const watcher = await observer()
  try {
    await withManager({ max: 1, applicationName }, async (db) => {
      const seen = []
      const stream = db.stream('SELECT 10 / (25 - i) AS q FROM generate_series(1, 100) AS i', [], { batchSize: 10 })
      const e = await (async () => {
        for await (const rows of stream) seen.push(...rows)
      })().catch((e) => e)
      assert.equal(e?.code, '22012', String(e))
      assert.equal(seen.length, 20, 'the two batches before the failing one')
      assert.equal(db.getPoolStatistics().idleConnections, 1)
      assert.deepEqual(await stream.next(), { value: undefined, done: true })
      assert.deepEqual(await states(watcher, applicationName), ['idle'])
      assert.equal((await db.query('SELECT 2 AS two')).rows[0].two, 2)
    })
  } finally {
    await watcher.end()
  }
})

test('an abort between batches, or while a batch runs on the server, rejects with ABORT_ERR (a batch past timeoutMillis with QUERY_TIMEOUT) and leaves the connection clean', async () => {
  const applicationName = uniqueName('stream-abort')
  const watcher = await observer()
  try {
    await withManager({ max: 1, applicationName }, async (db) => {
      const controller = new AbortController()
      const reason = new Error('enough')
      const stream = db.stream(`SELECT i FROM ${lazySeries(1000000)}`, [], { batchSize: 100, signal: controller.signal })
      await stream.next()
      controller.abort(reason)
      const e = await stream.next().catch((e) => e)
      assert.equal(e?.name, 'AbortError', String(e))
      assert.equal(e.code, 'ABORT_ERR')
      assert.equal(e.cause, reason)
      await until(async () => db.getPoolStatistics().idleConnections === 1, { what: 'the connection is back' })
      assert.deepEqual(await states(watcher, applicationName), ['idle'])

      // The second batch waits on the server: the abort cancels it there.
      const running = new AbortController()
      const slow = db.stream('SELECT i, CASE WHEN i > 5 THEN pg_sleep(10) END AS wait FROM generate_series(1, 10) AS i', [], { batchSize: 5, signal: running.signal })
      assert.equal((await slow.next()).value.length, 5)
      const started = performance.now()
      setTimeout(() => running.abort(), 100)
      const cancelled = await slow.next().catch((e) => e)
      assert.equal(cancelled?.code, 'ABORT_ERR', String(cancelled))
      assert.ok(performance.now() - started < 5000, 'cancelled, not waited for')
      assert.equal(db.getPoolStatistics().idleConnections, 1)
      assert.deepEqual(await states(watcher, applicationName), ['idle'])

      // Already aborted: nothing is sent.
      await rejectsWith(db.stream('SELECT 1', [], { signal: running.signal }).next(), 'ABORT_ERR')

      // timeoutMillis limits each batch: the slow one is cancelled as a query past its timeout.
      const limited = db.stream('SELECT i, CASE WHEN i > 5 THEN pg_sleep(10) END AS wait FROM generate_series(1, 10) AS i', [], { batchSize: 5, timeoutMillis: 200 })
      assert.equal((await limited.next()).value.length, 5)
      await rejectsWith(limited.next(), 'QUERY_TIMEOUT')
      assert.equal(db.getPoolStatistics().idleConnections, 1)
      assert.deepEqual(await states(watcher, applicationName), ['idle'])
    })
  } finally {
    await watcher.end()
  }
})

test('client.stream inside executeTransaction sees its uncommitted rows, and the transaction goes on and commits', async () => {
  await withManager({ max: 2 }, async (db) => {
    const table = `stream_tx_${process.pid}`
    await db.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int)`)
    try {
      const read = await db.executeTransaction(async (client) => {
        await client.query(`INSERT INTO ${table} SELECT generate_series(1, 25)`)
        const ids = []
        for await (const rows of client.stream(`SELECT id FROM ${table} ORDER BY id`, [], { batchSize: 10 })) ids.push(...rows.map((r) => r.id))
        // Stopped early, the cursor is closed and the transaction stays usable.
        for await (const rows of client.stream(`SELECT id FROM ${table}`, [], { batchSize: 5 })) {
          assert.equal(rows.length, 5)
          break
        }
        await client.query(`INSERT INTO ${table} VALUES (26)`)
        return ids
      })
      assert.deepEqual(read, Array.from({ length: 25 }, (_, i) => i + 1))
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 26)

      // An error in the stream aborts the transaction as a failed query does: nothing commits.
      const e = await db.executeTransaction(async (client) => {
        await client.query(`INSERT INTO ${table} VALUES (27)`)
        for await (const rows of client.stream('SELECT 1 / (i - 3) FROM generate_series(1, 5) AS i', [], { batchSize: 1 })) assert.ok(rows)
      }).catch((e) => e)
      assert.equal(e?.code, '22012', String(e))
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 26)

      // A stream as the transaction's first statement goes out behind its BEGIN.
      const first = await db.executeTransaction(async (client) => (await batches(client.stream("SELECT current_setting('transaction_isolation') AS level")))[0][0], { isolationLevel: 'serializable' })
      assert.deepEqual(first, { level: 'serializable' })
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`)
    }
  })
})

test('a getClient() client outside a transaction streams in a block of its own, ended with the stream', async () => {
  await withManager({ max: 2 }, async (db) => {
    const table = `stream_own_${process.pid}`
    await db.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int)`)
    const client = await db.getClient()
    try {
      for await (const rows of client.stream('SELECT i FROM generate_series(1, 100) AS i', [], { batchSize: 10 })) {
        assert.equal(rows.length, 10)
        break
      }
      // Back in autocommit: another connection sees the insert before the client is released.
      await client.query(`INSERT INTO ${table} VALUES (1)`)
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 1)
      // Queries and a stream interleave on one client, in the order called.
      const stream = client.stream('SELECT i FROM generate_series(1, 4) AS i', [], { batchSize: 2 })
      const between = client.query('SELECT 42 AS x')
      assert.deepEqual((await stream.next()).value, [{ i: 1 }, { i: 2 }])
      assert.equal((await between).rows[0].x, 42)
      assert.deepEqual((await stream.next()).value, [{ i: 3 }, { i: 4 }])
      assert.deepEqual(await stream.next(), { value: undefined, done: true })
    } finally {
      await client.release()
      await db.query(`DROP TABLE IF EXISTS ${table}`)
    }
    await rejectsWith(client.stream('SELECT 1').next(), 'CLIENT_RELEASED')
  })
})

test("a client's stream that fails to open leaves the client as a failed query would", async () => {
  await withManager({ max: 2 }, async (db) => {
    const table = `stream_fail_${process.pid}`
    await db.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int)`)
    const client = await db.getClient()
    try {
      // Outside a transaction: a value the server refuses fails the DECLARE in the stream's own
      // block, which is rolled back; the next query runs on its own, committed at once.
      await rejectsWith(client.stream('SELECT $1::int AS n', ['abc']).next(), '22P02')
      await client.query(`INSERT INTO ${table} VALUES (1)`)
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 1)
      // A BEGIN the client holds back is not lost when a stream is refused before it is sent…
      await client.query('BEGIN')
      await rejectsWith(client.stream(`INSERT INTO ${table} VALUES (2)`).next(), 'INVALID_ARGUMENT')
      await client.query(`INSERT INTO ${table} VALUES (2)`)
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 1, 'inside the transaction')
      // …and a stream that fails in the transaction aborts it, as the query would.
      await rejectsWith(client.stream('SELECT nope').next(), '42703')
      await rejectsWith(client.query('SELECT 1'), '25P02')
      await client.query('ROLLBACK')
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 1)
    } finally {
      await client.release()
      await db.query(`DROP TABLE IF EXISTS ${table}`)
    }
  })
})

test('bad arguments are INVALID_ARGUMENT, a closed manager POOL_CLOSED; neither takes a connection', async () => {
  const db = await withManager({ max: 1 }, async (db) => {
    for (const batchSize of [0, -1, 1.5, '10', 2 ** 31]) {
      assert.throws(() => db.stream('SELECT 1', [], { batchSize }), (e) => e.code === 'INVALID_ARGUMENT' && /batchSize/.test(e.message))
    }
    assert.throws(() => db.stream(42), (e) => e.code === 'INVALID_ARGUMENT')
    await rejectsWith(db.stream('INSERT INTO nowhere VALUES (1)').next(), 'INVALID_ARGUMENT', /query\(\)/)
    await rejectsWith(db.stream('SELECT 1; SELECT 2').next(), 'INVALID_ARGUMENT', /one statement/)
    await rejectsWith(db.stream('SELECT $1::int', []).next(), 'INVALID_ARGUMENT', /1 parameter/)
    await rejectsWith(db.stream('SELECT nope').next(), '42703')
    assert.equal(db.getPoolStatistics().idleConnections, 1)
    return db
  })
  await rejectsWith(db.stream('SELECT 1').next(), 'POOL_CLOSED')
})

test('a stream garbage-collected while open is ended, and its connection goes back', { skip: typeof global.gc !== 'function' && 'needs --expose-gc' }, async () => {
  await withManager({ max: 1 }, async (db) => {
    await (async () => {
      const stream = db.stream('SELECT i FROM generate_series(1, 1000) AS i', [], { batchSize: 10 })
      await stream.next()
    })()
    await until(async () => {
      global.gc()
      await sleep(10)
      return db.getPoolStatistics().activeConnections === 0
    }, { what: 'the collected stream let go of its connection' })
    // Ended as an early stop: its block committed, and the connection back and reused, not closed.
    assert.equal((await db.query('SELECT 3 AS three')).rows[0].three, 3)
    const { connectionsCreated, connectionsRemoved } = db.getPoolStatistics()
    assert.deepEqual([connectionsCreated, connectionsRemoved], [1, 0])
  })
})
