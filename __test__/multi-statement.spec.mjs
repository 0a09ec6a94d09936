// Acceptance: a query without values holding several statements resolves to an array of
// results, as with node-postgres, and runs all or nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, uniqueName, observer } from './helpers.mjs'

test('SELECT 1; SELECT 2 resolves to an array of two results', async () => {
  await withManager({}, async (db) => {
    const results = await db.query('SELECT 1 AS a; SELECT 2 AS b')
    assert.ok(Array.isArray(results))
    assert.equal(results.length, 2)
    assert.deepEqual(results.map((r) => [r.command, r.rowCount, r.rows]), [['SELECT', 1, [{ a: 1 }]], ['SELECT', 1, [{ b: 2 }]]])
  })
})

test('a failing statement undoes the earlier ones of the same string', async () => {
  const applicationName = uniqueName('multi')
  await withManager({ max: 1, applicationName }, async (db) => {
    await db.query('DROP TABLE IF EXISTS multi_atomic; CREATE TABLE multi_atomic (a int)')
    const err = await db.query('INSERT INTO multi_atomic VALUES (1); SELECT 1/0').catch((e) => e)
    assert.equal(err.code, '22012')
    const r = await db.query('SELECT count(*)::int AS n FROM multi_atomic')
    assert.equal(r.rows[0].n, 0)
    // The connection went back to the pool outside any transaction.
    const client = await observer()
    const state = await client.query('SELECT state FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    await client.end()
    assert.deepEqual(state.rows, [{ state: 'idle' }])
    await db.query('DROP TABLE multi_atomic')
  })
})

test('an empty query resolves like node-postgres does', async () => {
  await withManager({}, async (db) => {
    const r = await db.query('  ')
    assert.deepEqual([r.command, r.rowCount, r.rows, r.fields], [null, null, [], []])
  })
})
