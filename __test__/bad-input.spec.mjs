// Acceptance: bad input gets a precise error and loses nothing. Every case runs on a pool of one
// connection with a short acquire timeout, so a leaked connection makes the next query fail.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, DatabaseError, uniqueName, observer, backends } from './helpers.mjs'

const applicationName = uniqueName('bad-input')
const db = new DatabaseManager({ max: 1, connectionTimeoutMillis: 2000, applicationName })

async function rejects(promise, code, pattern) {
  const err = await promise.then(() => assert.fail('expected a rejection'), (e) => e)
  assert.ok(err instanceof DatabaseError, `not a DatabaseError: ${err}`)
  assert.equal(err.code, code, err.message)
  if (pattern) assert.match(err.message, pattern)
  // The one connection is back in the pool: the next query gets it.
  const ok = await db.query('SELECT 1 AS one')
  assert.deepEqual(ok.rows, [{ one: 1 }])
  return err
}

test.after(() => db.close())

test('wrong number of values', async () => {
  await rejects(db.query('SELECT $1::int, $2::int', [1]), 'INVALID_ARGUMENT', /2 parameters but 1 value was given/)
  await rejects(db.query('SELECT 1', [1]), 'INVALID_ARGUMENT', /0 parameters but 1 value/)
})

test('a value of the wrong type for the column is the server\'s 22P02', async () => {
  const err = await rejects(db.query('SELECT $1::int', ['abc']), '22P02', /invalid input syntax for type integer/)
  assert.equal(err.severity, 'ERROR')
})

test('a string containing \\0 is refused by the server, not truncated', async () => {
  await rejects(db.query('SELECT $1::text', ['a\u0000b']), '22021')
})

test('circular objects, functions and symbols are INVALID_ARGUMENT naming the value', async () => {
  const circular = { a: 1 }
  circular.self = circular
  await rejects(db.query('SELECT $1::jsonb', [circular]), 'INVALID_ARGUMENT', /value \$1 cannot be sent as JSON/)
  const loop = [1]
  loop.push(loop)
  await rejects(db.query('SELECT $1::int[]', [loop]), 'INVALID_ARGUMENT', /value \$1 contains itself/)
  await rejects(db.query('SELECT $1::text, $2::text', ['ok', () => 1]), 'INVALID_ARGUMENT', /value \$2 is a function/)
  await rejects(db.query('SELECT $1::text', [Symbol('s')]), 'INVALID_ARGUMENT', /value \$1 is a symbol/)
})

test('a text that is not a string, and values that are not an array', async () => {
  await rejects(db.query(42), 'INVALID_ARGUMENT', /query text must be a string \(got number\)/)
  await rejects(db.query({ values: [] }), 'INVALID_ARGUMENT', /query text must be a string \(got undefined\)/)
  await rejects(db.query('SELECT 1', 'x'), 'INVALID_ARGUMENT', /values must be an array/)
})

test('more than 65,535 parameters', async () => {
  const values = new Array(65536).fill(1)
  const placeholders = values.map((_, i) => `$${i + 1}`).join(',')
  await rejects(db.query(`SELECT ${placeholders}`, values), 'INVALID_ARGUMENT', /at most 65535 values \(got 65536\)/)
})

test('a 64 MiB string value succeeds', async () => {
  const big = 'x'.repeat(64 * 1024 * 1024)
  const r = await db.query('SELECT length($1::text) AS n', [big])
  assert.equal(r.rows[0].n, 64 * 1024 * 1024)
})

/** SQL for `n` (a multiple of 16) copies of `c`, built 16 at a time: repeat() copies its string
 * once per repetition, so a long string of one character is slow to build at once. */
function repeated(c, n) {
  return `repeat(repeat('${c}', 16), ${n / 16})`
}

test('a column longer than the longest JS string arrives whole, as with node-postgres', async () => {
  // 6 values of 90 MB: each fits in a JS string, all of them together would not.
  const x = 'x'.repeat(90000000)
  const e = 'é'.repeat(5000000)
  const text = await db.query(`SELECT CASE WHEN i = 2 THEN ${repeated('é', 5000000)} WHEN i = 5 THEN NULL
    ELSE ${repeated('x', 90000000)} END AS v FROM generate_series(1, 8) AS i`)
  assert.deepEqual(text.rows.map((r) => r.v?.length ?? null), [90e6, 5e6, 90e6, 90e6, null, 90e6, 90e6, 90e6])
  for (const [i, row] of text.rows.entries()) {
    if (i !== 4) assert.ok(row.v === (i === 1 ? e : x), `row ${i + 1} is its value`)
  }
  // A JSON column longer than a part (64 MiB) is parsed part by part.
  const json = await db.query(`SELECT to_jsonb(${repeated('x', 40000000)}) AS j FROM generate_series(1, 3)
    UNION ALL SELECT '{"a": [1, null]}'::jsonb`)
  const y = x.slice(0, 40000000)
  assert.deepEqual(json.rows.map((r) => (r.j === y ? 'y' : r.j)), ['y', 'y', 'y', { a: [1, null] }])
})

test('a value longer than the longest JS string is RESULT_TOO_LARGE and loses nothing', async () => {
  // 2^29 - 16 characters, 8 more than V8's String::kMaxLength.
  await rejects(db.query(`SELECT ${repeated('x', 536870896)} AS v`), 'RESULT_TOO_LARGE',
    /536870896 bytes long, more than JS can hold in one string .*: select it in pieces/)
})

test('a syntax error', async () => {
  const err = await rejects(db.query('SELEKT 1'), '42601', /syntax error at or near "SELEKT"/)
  assert.equal(err.position, '1')
})

test('a unique violation carries constraint and detail', async () => {
  await db.query('DROP TABLE IF EXISTS bad_unique; CREATE TABLE bad_unique (id int CONSTRAINT bad_unique_pk PRIMARY KEY)')
  await db.query('INSERT INTO bad_unique VALUES (1)')
  const err = await rejects(db.query('INSERT INTO bad_unique VALUES ($1)', [1]), '23505')
  assert.equal(err.constraint, 'bad_unique_pk')
  assert.equal(err.detail, 'Key (id)=(1) already exists.')
  assert.equal(err.table, 'bad_unique')
  await db.query('DROP TABLE bad_unique')
})

test('invalid options are INVALID_CONFIG naming the option', () => {
  const check = (options, pattern) => assert.throws(() => new DatabaseManager(options), (e) => {
    assert.ok(e instanceof DatabaseError)
    assert.equal(e.code, 'INVALID_CONFIG')
    assert.match(e.message, pattern)
    return true
  })
  check({ max: 0 }, /`max` must be an integer ≥ 1 \(got 0\)/)
  check({ max: 'ten' }, /`max` must be a number/)
  check({ min: 5, max: 2 }, /`min` \(5\) must not be greater than `max` \(2\)/)
  check({ port: 70000 }, /`port`/)
  check({ bogus: 1 }, /unknown option `bogus`/)
})

test('a query on a closed manager is POOL_CLOSED, and close() twice is fine', async () => {
  const closing = new DatabaseManager({ max: 1 })
  await closing.query('SELECT 1')
  await Promise.all([closing.close(), closing.close()])
  await closing.close()
  const err = await closing.query('SELECT 1').catch((e) => e)
  assert.ok(err instanceof DatabaseError)
  assert.equal(err.code, 'POOL_CLOSED')
  assert.match(err.message, /create a new DatabaseManager/)
})

test('no connection was leaked along the way', async () => {
  const client = await observer()
  try {
    assert.equal(await backends(client, applicationName), 1)
    const state = await client.query('SELECT state FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    assert.deepEqual(state.rows, [{ state: 'idle' }])
  } finally {
    await client.end()
  }
})
