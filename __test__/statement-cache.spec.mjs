// Acceptance: a repeated query is prepared once per connection, the cache is bounded, a statement
// invalidated by ALTER TABLE re-prepares transparently, and statementCache: false leaves none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager } from './helpers.mjs'

const PREPARED = "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1"
const ALL_BUT_SELF = "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'"

test('a query run 1,000 times is prepared once per connection', async () => {
  await withManager({ max: 1 }, async (db) => {
    const sql = 'SELECT $1::int * 2 AS doubled'
    for (let i = 0; i < 1000; i++) {
      const r = await db.query(sql, [i])
      assert.equal(r.rows[0].doubled, i * 2)
    }
    const r = await db.query(PREPARED, [sql])
    assert.equal(r.rows[0].n, 1)
  })
})

test('the cache never holds more than maxPreparedStatements per connection', async () => {
  await withManager({ max: 1, maxPreparedStatements: 5 }, async (db) => {
    for (let i = 0; i < 40; i++) {
      const r = await db.query(`SELECT ${i}::int AS v, $1::text AS t`, ['x'])
      assert.equal(r.rows[0].v, i)
      const count = await db.query('SELECT count(*)::int AS n FROM pg_prepared_statements')
      assert.ok(count.rows[0].n <= 5, `${count.rows[0].n} statements prepared after ${i + 1} distinct queries`)
    }
  })
})

test('a statement invalidated by ALTER TABLE re-prepares without an error reaching the caller', async () => {
  await withManager({ max: 1 }, async (db) => {
    await db.query('DROP TABLE IF EXISTS cache_alter; CREATE TABLE cache_alter (a int); INSERT INTO cache_alter VALUES (1)')
    const before = await db.query('SELECT * FROM cache_alter')
    assert.deepEqual(before.rows, [{ a: 1 }])
    await db.query('ALTER TABLE cache_alter ADD COLUMN b text DEFAULT \'x\'')
    const after = await db.query('SELECT * FROM cache_alter')
    assert.deepEqual(after.rows, [{ a: 1, b: 'x' }])
    await db.query('DROP TABLE cache_alter')
  })
})

test('with statementCache: false no named statement stays on the server', async () => {
  await withManager({ max: 1, statementCache: false }, async (db) => {
    for (let i = 0; i < 20; i++) {
      const r = await db.query('SELECT $1::int + 1 AS n', [i])
      assert.equal(r.rows[0].n, i + 1)
    }
    const r = await db.query(ALL_BUT_SELF)
    assert.equal(r.rows[0].n, 0)
  })
})
