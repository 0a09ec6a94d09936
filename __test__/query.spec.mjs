// The query path: one query through JS → napi → pool → server → columns → rows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { DatabaseManager, DatabaseError } = require('..')

test('a query resolves to a node-postgres-shaped result', async () => {
  const db = new DatabaseManager()
  try {
    const r = await db.query('SELECT $1::int + 1 AS x, $2::text AS y', [41, 'héllo'])
    assert.deepEqual(r.rows, [{ x: 42, y: 'héllo' }])
    assert.equal(r.rowCount, 1)
    assert.equal(r.command, 'SELECT')
    assert.deepEqual(r.fields.map((f) => [f.name, f.dataTypeID]), [['x', 23], ['y', 25]])
  } finally {
    await db.close()
  }
})

test('rows are plain objects with one own property per column, whatever the column names', async () => {
  const db = new DatabaseManager()
  try {
    const sql = 'SELECT 1 AS "__proto__", 2 AS constructor, 3 AS "hasOwnProperty", 4 AS "x" FROM generate_series(1, 3)'
    const { rows } = await db.query(sql)
    assert.equal(rows.length, 3)
    for (const row of rows) {
      assert.equal(Object.getPrototypeOf(row), Object.prototype)
      assert.deepEqual(Object.keys(row), ['__proto__', 'constructor', 'hasOwnProperty', 'x'])
      assert.deepEqual(Object.values(row), [1, 2, 3, 4])
    }
    const plain = await db.query('SELECT 1 AS a, 2 AS b')
    assert.equal(Object.getPrototypeOf(plain.rows[0]), Object.prototype)
    assert.equal(plain.rows[0].constructor, Object)
    assert.deepEqual(plain.rows, [{ a: 1, b: 2 }])
  } finally {
    await db.close()
  }
})

test('query({ text, values, rowMode: "array" }) returns arrays', async () => {
  const db = new DatabaseManager()
  try {
    const r = await db.query({ text: 'SELECT $1::int AS a, NULL::text AS b', values: [7], rowMode: 'array' })
    assert.deepEqual(r.rows, [[7, null]])
  } finally {
    await db.close()
  }
})

test('a server error is a DatabaseError with the SQLSTATE and the caller on its stack', async () => {
  const db = new DatabaseManager()
  try {
    const err = await db.query('SELEC 1').catch((e) => e)
    assert.ok(err instanceof DatabaseError)
    assert.equal(err.code, '42601')
    assert.equal(err.position, '1')
    assert.match(err.stack.split('\n')[1], /query\.spec\.mjs/)
  } finally {
    await db.close()
  }
})

test('initialize() connects now and rejects with a precise error when it cannot', async () => {
  const db = new DatabaseManager()
  await db.initialize()
  await db.close()
  // Nothing listens on port 1.
  const down = new DatabaseManager({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 5000 })
  const err = await down.initialize().catch((e) => e)
  assert.ok(err instanceof DatabaseError)
  assert.equal(err.code, 'ECONNREFUSED')
  assert.match(err.message, /127\.0\.0\.1:1\/.*check that PostgreSQL is running/)
  await down.close()
  const wrong = new DatabaseManager({ password: 'not-the-password' })
  const auth = await wrong.initialize().catch((e) => e)
  assert.equal(auth.code, '28P01')
  assert.doesNotMatch(auth.message + auth.stack, /not-the-password/)
  await wrong.close()
})
