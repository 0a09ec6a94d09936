// A long result's rows cross to JS in chunks while the server still sends the rest, and JS decodes
// each chunk as it comes (src/query.rs `EarlyRows`, lib/query.js). What a user relies on: the
// result is whole and the same as node-postgres's, an error after some rows went loses nothing,
// and a query whose rows went is never run a second time.
//
// To see rows decoded before the query ends, without timing anything, a query's last row waits
// on an advisory lock the test holds, and a `types` parser counts the values JS has decoded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, observer, uniqueName, sleep, within } from './helpers.mjs'

const TEXT = 25
const LOCK = 7001

/** ~2.3 MB over 20,000 rows: every kind of column, NULLs and non-ASCII among them. */
const LONG = `SELECT i, 'row ' || i || CASE WHEN i % 97 = 0 THEN ' é€😀' ELSE '' END AS t,
  CASE WHEN i % 13 = 0 THEN NULL ELSE repeat('x', 40) END AS pad,
  jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i % 7)) AS j,
  (i * 7919 % 100000) / 100.0 AS n, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS at,
  i % 3 = 0 AS b, CASE WHEN i % 5 = 0 THEN '\\x00ff'::bytea END AS bin, ARRAY[i, i + 1] AS arr
  FROM generate_series(1, 20000) AS i`

/**
 * 20,000 rows, then one more that waits until the test lets go of LOCK: its `i` is NULL and its
 * `t` is `tail`. The lock is the transaction's, so a failed query does not keep it.
 */
const waiting = (tail) => `SELECT i, repeat('y', 100) AS t FROM generate_series(1, 20000) AS i
  UNION ALL SELECT NULL, (${tail})::text FROM (SELECT pg_advisory_xact_lock(${LOCK})) AS wait`

/** A `types` parser for text that counts what it decoded. */
function counting() {
  const seen = { values: 0 }
  return { seen, types: { [TEXT]: (s) => { seen.values += 1; return s } } }
}

/** Resolves once `done()` holds; fails with `what` after 20 s without. */
async function until(what, done) {
  for (let waited = 0; !(await done()); waited += 10) {
    if (waited > 20000) throw new Error(what)
    await sleep(10)
  }
}

const decodedSome = (seen) => until('no row was decoded while the query waited on the server', () => seen.values > 0)

/**
 * Runs `fn(holder)` while `holder`, an observer connection, holds LOCK, and lets go of it at the
 * end whatever happens: inside a manager's callback, so that a query waiting on it can end
 * before the manager closes.
 */
async function withLock(fn) {
  const holder = await observer()
  try {
    await holder.query('SELECT pg_advisory_lock($1)', [LOCK])
    return await fn(holder)
  } finally {
    await holder.query('SELECT pg_advisory_unlock_all()')
    await holder.end()
  }
}

/** What node-postgres gives for `sql`. */
async function pgResult(sql, rowMode) {
  const client = await observer()
  try {
    return await client.query({ text: sql, rowMode })
  } finally {
    await client.end()
  }
}

const shape = (r) => ({ command: r.command, rowCount: r.rowCount, fields: r.fields.map((f) => ({ ...f })), rows: r.rows })

test('a long result arrives whole and as node-postgres returns it: manager, client, rowMode array, no statement cache', async () => {
  const expected = shape(await pgResult(LONG))
  const expectedArrays = shape(await pgResult(LONG, 'array'))
  assert.equal(expected.rows.length, 20000)
  assert.equal(expected.rows[96].t, 'row 97 é€😀')
  await withManager({ max: 2 }, async (db) => {
    assert.deepEqual(shape(await db.query(LONG)), expected)
    assert.deepEqual(shape(await db.query({ text: LONG, rowMode: 'array' })), expectedArrays)
    const client = await db.getClient()
    try {
      assert.deepEqual(shape(await client.query(LONG)), expected)
    } finally {
      client.release()
    }
    const inTransaction = await db.executeTransaction((c) => c.query(LONG))
    assert.deepEqual(shape(inTransaction), expected)
    // Several statements: their results arrive together at the end.
    const [first, second] = await db.query(`${LONG}; ${LONG}`)
    assert.deepEqual(shape(first), expected)
    assert.deepEqual(shape(second), expected)
  })
  // Prepared, run and closed for each query: the same path to JS.
  await withManager({ statementCache: false }, async (db) => {
    assert.deepEqual(shape(await db.query(LONG)), expected)
  })
})

test('rows are decoded while the server still sends the rest', async () => {
  const { seen, types } = counting()
  await withManager({ max: 1, types }, (db) => withLock(async (holder) => {
    const running = db.query(waiting("''"))
    await decodedSome(seen)
    await holder.query('SELECT pg_advisory_unlock($1)', [LOCK])
    const r = await running
    assert.equal(r.rowCount, 20001)
    assert.equal(r.rows.length, 20001)
    assert.ok(r.rows.slice(0, 20000).every((row, k) => row.i === k + 1 && row.t === 'y'.repeat(100)))
    assert.deepEqual(r.rows[20000], { i: null, t: '' })
    assert.equal(seen.values, 20001)
  }))
})

test('an error after rows went early rejects the query, and the next one gets only its own rows', async () => {
  const { seen, types } = counting()
  await withManager({ max: 1, types }, (db) => withLock(async (holder) => {
    const running = db.query(waiting('1 / (random() * 0)::int')).catch((e) => e)
    await decodedSome(seen)
    await holder.query('SELECT pg_advisory_unlock($1)', [LOCK])
    const err = await running
    assert.equal(err.code, '22012')
    const next = await db.query("SELECT 'mine' AS t")
    assert.deepEqual(next.rows, [{ t: 'mine' }])

    // In a transaction, the failed statement aborts it like any failed statement.
    seen.values = 0
    await holder.query('SELECT pg_advisory_lock($1)', [LOCK])
    const client = await db.getClient()
    try {
      await client.query('BEGIN')
      const failing = client.query(waiting('1 / (random() * 0)::int')).catch((e) => e)
      await decodedSome(seen)
      await holder.query('SELECT pg_advisory_unlock($1)', [LOCK])
      assert.equal((await failing).code, '22012')
      const aborted = await client.query('SELECT 1').catch((e) => e)
      assert.equal(aborted.code, '25P02')
      await client.query('ROLLBACK')
      assert.deepEqual((await client.query("SELECT 'after' AS t")).rows, [{ t: 'after' }])
    } finally {
      client.release()
    }
  }))
})

test('a query ended by the server after its rows went early is not run again', async () => {
  const { seen, types } = counting()
  const applicationName = uniqueName('early')
  await withManager({ max: 2, types, applicationName }, (db) => withLock(async (holder) => {
    const running = db.query(waiting("''")).catch((e) => e)
    await decodedSome(seen)
    // Its backend has sent the rows before the last and waits on the lock.
    const backend = 'FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = \'Lock\''
    await until('the query never waited on the lock', async () =>
      (await holder.query(`SELECT count(*)::int AS n ${backend}`, [applicationName])).rows[0].n === 1)
    const ended = await holder.query(`SELECT pg_terminate_backend(pid) ${backend}`, [applicationName])
    assert.equal(ended.rowCount, 1)
    // Run again, it would wait on the lock once more.
    const err = await within(running, 15000, 'the query ended by the server')
    assert.equal(err.code, '57P01', 'it fails with the server\'s reason, not run a second time')
    assert.deepEqual((await db.query('SELECT 1 AS x')).rows, [{ x: 1 }])
  }))
})

test('long results of queries sharing one connection each get their own rows', async () => {
  await withManager({ max: 1 }, async (db) => {
    const sql = "SELECT $1::int AS k, i, repeat('z', 100) AS t FROM generate_series(1, 20000) AS i"
    const results = await Promise.all([1, 2, 3, 4].map((k) => db.query(sql, [k])))
    results.forEach((r, index) => {
      assert.equal(r.rows.length, 20000)
      assert.ok(r.rows.every((row, n) => row.k === index + 1 && row.i === n + 1))
    })
  })
})

test('a parser that throws on an early row rejects its query with that error and loses nothing', async () => {
  const failing = new Error('this parser refuses row 5')
  const types = { [TEXT]: (s) => { if (s === 'row 5') throw failing; return s } }
  await withManager({ max: 1, types }, async (db) => {
    // 'row 5' is in the first of the 60 or so chunks of this result.
    const sql = "SELECT 'row ' || i AS t, repeat('w', 200) AS pad FROM generate_series(1, 20000) AS i"
    const err = await db.query(sql).catch((e) => e)
    assert.equal(err, failing)
    const next = await db.query("SELECT 'row 6' AS t")
    assert.deepEqual(next.rows, [{ t: 'row 6' }])
  })
})
