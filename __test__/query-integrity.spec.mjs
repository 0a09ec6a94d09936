// The query path keeps and commits exactly what node-postgres would (issue 20): multi-statement
// strings with the simple protocol's semantics, no connection given back inside a transaction
// block, the server's own text for types only it can write, type changes picked up, and bad
// input refused without harm. Each case runs through pg and pg-rust-pool on the same server, one
// connection a side.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { DatabaseManager, observer, uniqueName } from './helpers.mjs'

const applicationName = uniqueName('integrity')
let ours
let theirs
let watcher

before(async () => {
  ours = new DatabaseManager({ max: 1, applicationName })
  theirs = new pg.Pool({ max: 1 })
  watcher = await observer()
})

after(async () => {
  await theirs.query('DROP TABLE IF EXISTS integrity_t, integrity_typed, integrity_stats; DROP TYPE IF EXISTS integrity_pair, integrity_mood; DROP DOMAIN IF EXISTS integrity_dom; DROP FUNCTION IF EXISTS integrity_f(int)')
  await ours.close()
  await theirs.end()
  await watcher.end()
})

const outcome = (promise) => promise.then((r) => ({ ok: r }), (e) => ({ code: e.code, position: e.position }))

/** The rows committed in integrity_t. */
async function committed() {
  return (await watcher.query('SELECT a FROM integrity_t ORDER BY a')).rows.map((r) => r.a)
}

/** Our backend's state in pg_stat_activity. */
async function ourState() {
  const r = await watcher.query('SELECT state FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  return r.rows.map((row) => row.state)
}

// [string, our error code when it differs from pg's by choice]
const STRINGS = [
  ['INSERT INTO integrity_t VALUES (1); ROLLBACK'],
  ['INSERT INTO integrity_t VALUES (1); COMMIT; INSERT INTO integrity_t VALUES (2); SELECT 1/0'],
  ['BEGIN; INSERT INTO integrity_t VALUES (1); COMMIT; SELEC 1'],
  ['INSERT INTO integrity_t VALUES (1); SELECT 1; SELEC 2'],
  ['BEGIN; INSERT INTO integrity_t VALUES (1); SELECT 1/0; COMMIT'],
  ['INSERT INTO integrity_t VALUES (1); BEGIN; INSERT INTO integrity_t VALUES (2); SELECT 1/0', 'TRANSACTION_ON_POOL'],
  ['BEGIN; INSERT INTO integrity_t VALUES (1)', 'TRANSACTION_ON_POOL'],
  ['INSERT INTO integrity_t VALUES (1); INSERT INTO integrity_t VALUES (2); SELECT a FROM integrity_t ORDER BY a'],
]

for (const [sql, ourCode] of STRINGS) {
  test(`manager.query: ${sql}`, async () => {
    const rows = []
    const results = []
    for (const side of [ours, theirs]) {
      await watcher.query('DROP TABLE IF EXISTS integrity_t; CREATE TABLE integrity_t (a int)')
      const result = await outcome(side.query(sql))
      results.push(result.ok ? { ok: [result.ok].flat().map((r) => [r.command, r.rowCount, r.rows]) } : result)
      rows.push(await committed())
      // The connection serves the next query, outside any transaction block.
      assert.deepEqual((await side.query('SELECT 7 AS x')).rows, [{ x: 7 }])
      // pg-pool gives a connection back inside the block such a string leaves open (the very
      // hole this guards against); end it, so that the next case can drop the table.
      if (side === theirs) await theirs.query('ROLLBACK')
    }
    assert.deepEqual(rows[0], rows[1], 'the same rows are committed')
    if (ourCode) {
      assert.equal(results[0].code, ourCode)
    } else {
      assert.deepEqual(results[0], results[1], 'the same result or error (code and position)')
    }
    assert.deepEqual(await ourState(), ['idle'])
  })

  test(`client.query: ${sql}`, async () => {
    const rows = []
    const results = []
    for (const client of [await ours.getClient(), await theirs.connect()]) {
      await watcher.query('DROP TABLE IF EXISTS integrity_t; CREATE TABLE integrity_t (a int)')
      const result = await outcome(client.query(sql))
      results.push(result.ok ? { ok: [result.ok].flat().map((r) => [r.command, r.rowCount, r.rows]) } : result)
      // pg-pool's client keeps a block left open until its user ends it, as ours does.
      await client.query('ROLLBACK')
      rows.push(await committed())
      await client.release()
    }
    assert.deepEqual(results[0], results[1])
    assert.deepEqual(rows[0], rows[1])
    assert.deepEqual(await ourState(), ['idle'])
  })
}

test('manager.query("BEGIN") is refused before it runs, and a later failure leaves no aborted block', async () => {
  const err = await ours.query('BEGIN').catch((e) => e)
  assert.equal(err.code, 'TRANSACTION_ON_POOL')
  assert.match(err.message, /executeTransaction/)
  const failed = await ours.query('SELECT 1/0').catch((e) => e)
  assert.equal(failed.code, '22012')
  assert.deepEqual((await ours.query('SELECT 1 AS x')).rows, [{ x: 1 }])
})

test('SQL-standard function bodies and error positions counted from the start of the string', async () => {
  const create = 'DROP FUNCTION IF EXISTS integrity_f(int); CREATE FUNCTION integrity_f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END; END'
  for (const side of [ours, theirs]) await side.query(create)
  const call = 'SELECT integrity_f(5) AS a, integrity_f(-5) AS b'
  assert.deepEqual((await ours.query(call)).rows, (await theirs.query(call)).rows)
  const bad = 'SELECT 1; SELECT no_such_column FROM pg_class'
  const [a, b] = [await outcome(ours.query(bad)), await outcome(theirs.query(bad))]
  assert.equal(a.code, '42703')
  assert.deepEqual(a, b)
})

test('a type changed on the server is picked up by a connection that decoded it before', async () => {
  await watcher.query('DROP TABLE IF EXISTS integrity_typed; DROP TYPE IF EXISTS integrity_pair; CREATE TYPE integrity_pair AS (a int); CREATE TABLE integrity_typed (p integrity_pair); INSERT INTO integrity_typed VALUES (ROW(1))')
  const sql = 'SELECT p FROM integrity_typed'
  assert.deepEqual((await ours.query(sql)).rows, [{ p: '(1)' }])
  await watcher.query('ALTER TYPE integrity_pair ADD ATTRIBUTE b text; UPDATE integrity_typed SET p = ROW(1, \'x y\')')
  assert.deepEqual((await ours.query(sql)).rows, (await theirs.query(sql)).rows)
  assert.deepEqual((await ours.query(sql)).rows, [{ p: '(1,"x y")' }])
})

test('command and rowCount as the server tags them', async () => {
  const cases = [
    'DROP TABLE IF EXISTS integrity_t, integrity_t2; DROP MATERIALIZED VIEW IF EXISTS integrity_mv',
    'CREATE TABLE integrity_t AS SELECT 1 AS a WITH NO DATA',
    'CREATE MATERIALIZED VIEW integrity_mv AS SELECT 1 AS a WITH NO DATA',
    // Both exist: the server skips them with a notice, and tags them without a count.
    'CREATE TABLE IF NOT EXISTS integrity_t AS SELECT 1 AS a',
    'CREATE MATERIALIZED VIEW IF NOT EXISTS integrity_mv AS SELECT 1 AS a',
    'CREATE TABLE IF NOT EXISTS integrity_t2 AS SELECT generate_series(1, 2) AS a WHERE false',
    'CREATE TABLE IF NOT EXISTS integrity_t2 AS SELECT 1 AS a',
    'DROP MATERIALIZED VIEW integrity_mv',
    'INSERT INTO integrity_t SELECT generate_series(1, 3)',
    // EXECUTE is tagged with the prepared statement's command.
    'PREPARE integrity_p AS SELECT generate_series(1, 4)',
    'EXECUTE integrity_p',
    'PREPARE "Integrity_I" (int) AS INSERT INTO integrity_t VALUES ($1)',
    'EXECUTE "Integrity_I"(7)',
    'DEALLOCATE integrity_p; DEALLOCATE "Integrity_I"; DROP TABLE integrity_t2',
  ]
  const tag = (r) => [r].flat().map((x) => [x.command, x.rowCount])
  const tags = []
  for (const side of [ours, theirs]) {
    const seen = []
    for (const sql of cases) seen.push(tag(await side.query(sql)))
    tags.push(seen)
  }
  assert.deepEqual(tags[0], tags[1])
  assert.deepEqual(tags[0].slice(1, 8), [[['CREATE', null]], [['CREATE', null]], [['CREATE', null]], [['CREATE', null]], [['SELECT', 0]], [['CREATE', null]], [['DROP', null]]])
  assert.deepEqual(tags[0][10], [['SELECT', 4]])
  assert.deepEqual(tags[0][12], [['INSERT', 1]])
})

test('an enum and a domain dropped and created again are picked up by a connection that read them', async () => {
  const sql = "SELECT 'b'::integrity_mood AS m, '5'::integrity_dom AS d, ARRAY['b']::integrity_mood[] AS ms"
  const make = (labels, base) => `DROP TYPE IF EXISTS integrity_mood; DROP DOMAIN IF EXISTS integrity_dom; CREATE TYPE integrity_mood AS ENUM (${labels}); CREATE DOMAIN integrity_dom AS ${base}`
  await watcher.query(make("'a', 'b'", 'int'))
  assert.deepEqual((await ours.query(sql)).rows, (await theirs.query(sql)).rows)
  await watcher.query(make("'b', 'c'", 'text'))
  const rows = (side) => side.query(sql).then((r) => ({ rows: r.rows }), (e) => ({ code: e.code }))
  const [a, b] = [await rows(ours), await rows(theirs)]
  assert.deepEqual(a, b)
  assert.deepEqual(a.rows, [{ m: 'b', d: '5', ms: '{b}' }])
})

test('inside a transaction block, a cached statement whose type was dropped fails with the server\'s error, and serves again after it', async () => {
  const sql = "SELECT 'b'::integrity_mood AS m"
  const make = "DROP TYPE IF EXISTS integrity_mood; CREATE TYPE integrity_mood AS ENUM ('a', 'b')"
  await watcher.query(make)
  const client = await ours.getClient()
  try {
    assert.deepEqual((await client.query(sql)).rows, [{ m: 'b' }])
    await watcher.query(make)
    await client.query('BEGIN')
    const err = await client.query(sql).catch((e) => e)
    assert.equal(err.code, 'XX000', err.message)
    await client.query('ROLLBACK')
    assert.deepEqual((await client.query(sql)).rows, [{ m: 'b' }])
  } finally {
    client.release()
  }
})

test('the system catalogs read as pg reads them', async () => {
  await watcher.query('DROP TABLE IF EXISTS integrity_stats; CREATE TABLE integrity_stats AS SELECT i % 10 AS a, i % 10 AS b, md5(i::text) AS c FROM generate_series(1, 2000) i; CREATE STATISTICS integrity_st (ndistinct, dependencies, mcv) ON a, b FROM integrity_stats; ANALYZE integrity_stats')
  for (const sql of [
    'SELECT * FROM pg_class ORDER BY oid',
    'SELECT * FROM pg_namespace ORDER BY oid',
    'SELECT * FROM pg_proc ORDER BY oid',
    'SELECT * FROM pg_type ORDER BY oid',
    'SELECT * FROM pg_attribute ORDER BY attrelid, attnum',
    "SELECT * FROM pg_stats WHERE tablename = 'integrity_stats' ORDER BY attname",
    'SELECT * FROM pg_statistic_ext_data',
    'SELECT * FROM pg_database ORDER BY oid',
  ]) {
    const [a, b] = [await ours.query(sql), await theirs.query(sql)]
    assert.ok(a.rows.length > 0, sql)
    assert.deepEqual(a.rows, b.rows, sql)
    assert.deepEqual(a.fields.map((f) => ({ ...f })), b.fields.map((f) => ({ ...f })), sql)
  }
})

test('bad query text and unreadable values are INVALID_ARGUMENT and close no connection', async () => {
  const pid = (await ours.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
  const revoked = Proxy.revocable({}, {})
  revoked.revoke()
  let deep = [1]
  for (let i = 0; i < 200000; i++) deep = [deep]
  const bad = [
    ['SELECT 1 -- \0'],
    ['SELECT \'\ud800\''],
    ['SELECT $1::jsonb', [deep]],
    ['SELECT $1::jsonb', [new Proxy({}, { get() { throw new Error('trap') } })]],
    ['SELECT $1::jsonb', [revoked.proxy]],
    ['SELECT $1::int[]', [[1, Object.defineProperty({}, 'toPostgres', { get() { throw new Error('getter') } })]]],
  ]
  for (const [text, values] of bad) {
    const err = await ours.query(text, values).catch((e) => e)
    assert.equal(err.code, 'INVALID_ARGUMENT', `${JSON.stringify(text)}: ${err.message}`)
  }
  assert.equal((await ours.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid, 'the same connection serves on')
})

test('settings given at connection start are read as the server writes them', async () => {
  const db = new DatabaseManager({ max: 1, options: { TimeZone: 'Asia/Kolkata', DateStyle: 'SQL, DMY' } })
  const client = new pg.Client({ options: '-c TimeZone=Asia/Kolkata -c DateStyle=SQL,DMY' })
  await client.connect()
  try {
    const sql = "SELECT tstzrange('2020-01-01 00:00+00', '2020-01-02 00:00+00') AS r, '2020-01-02'::date AS d"
    const [a, b] = [await db.query(sql), await client.query(sql)]
    assert.deepEqual(a.rows, b.rows)
    assert.match(a.rows[0].r, /05:30/)
  } finally {
    await client.end()
    await db.close()
  }
})

test('settings changed without SET (set_config, a DO block) are read as the server writes them', async () => {
  // Every value as the text the server sent, as a `types` that returns it unparsed gets it.
  const types = { getTypeParser: () => (text) => text }
  const cases = [
    ["SELECT set_config('TimeZone', 'Asia/Kolkata', false)", "SELECT '2020-06-01 12:00:00+00'::timestamptz AS tz, tstzrange('2020-01-01 00:00:00+00', NULL) AS r"],
    ["DO $$BEGIN PERFORM set_config('DateStyle', 'SQL, DMY', false); END$$", "SELECT '2020-01-02'::date AS d, '2020-01-02 03:04:05'::timestamp AS ts"],
    ["SELECT set_config('IntervalStyle', 'iso_8601', false)", "SELECT '1 day 02:03:04'::interval AS i"],
  ]
  for (const [setter, text] of cases) {
    const fresh = new DatabaseManager({ max: 1 })
    const client = new pg.Client()
    await client.connect()
    try {
      for (const side of [fresh, client]) await side.query(setter)
      const [a, b] = [await fresh.query({ text, types }), await client.query({ text, types })]
      assert.deepEqual(a.rows, b.rows, setter)
    } finally {
      await fresh.close()
      await client.end()
    }
  }
})

test('with standard_conforming_strings off, a backslash-quoted quote does not split the statement', async () => {
  for (const side of [ours, theirs]) await side.query('SET standard_conforming_strings = off')
  try {
    for (const [sql, values] of [["SELECT 'a\\';b' AS x", undefined], ["SELECT 'a\\';b' AS x, $1::int AS y", [1]]]) {
      const [a, b] = [await ours.query(sql, values), await theirs.query(sql, values)]
      assert.deepEqual([a.command, a.rowCount, a.rows], [b.command, b.rowCount, b.rows])
      assert.equal(a.rows[0].x, "a';b")
    }
  } finally {
    for (const side of [ours, theirs]) await side.query('RESET standard_conforming_strings')
  }
})

test('COPY to or from the client is INVALID_ARGUMENT and the connection serves on', async () => {
  const pid = (await ours.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
  for (const sql of ['COPY (SELECT 1) TO STDOUT', 'SELECT 1; COPY integrity_t FROM STDIN']) {
    const err = await ours.query(sql).catch((e) => e)
    assert.equal(err.code, 'INVALID_ARGUMENT', err.message)
  }
  assert.equal((await ours.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid)
})
