// Callback and promise forms of pg-rust-pool/pg (issue 22), as pg and pg-pool take them:
// pool.query, pool.connect (err, client, release), client.query, pool.end and Client's calls.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { Pool, Client } = require('pg-rust-pool/pg')

/** Calls `fn(callback)` and resolves to the callback's arguments. */
const called = (fn) => new Promise((resolve) => {
  const returned = fn((...args) => resolve({ args, returned }))
  assert.equal(returned, undefined, 'with a callback nothing is returned')
})

test('pool.query, pool.connect, client.query and pool.end with callbacks', async () => {
  const pool = new Pool({ max: 2 })
  let { args: [err, result] } = await called((cb) => pool.query('SELECT $1::int AS n', [1], cb))
  assert.deepEqual([err, result.rows], [null, [{ n: 1 }]])
  ;({ args: [err, result] } = await called((cb) => pool.query('SELECT 2 AS n', cb)))
  assert.deepEqual(result.rows, [{ n: 2 }])
  ;({ args: [err, result] } = await called((cb) => pool.query({ text: 'SELECT $1::int AS n', values: [3], rowMode: 'array' }, cb)))
  assert.deepEqual(result.rows, [[3]])
  ;({ args: [err] } = await called((cb) => pool.query('SELEC 1', cb)))
  assert.equal(err.code, '42601')

  const { args: [connectErr, client, release] } = await called((cb) => pool.connect(cb))
  assert.equal(connectErr, null)
  ;({ args: [err, result] } = await called((cb) => client.query('SELECT 4 AS n', cb)))
  assert.deepEqual(result.rows, [{ n: 4 }])
  release()
  const { args: endArgs } = await called((cb) => pool.end(cb))
  assert.equal(endArgs[0], null)
  assert.equal(pool.ended, true)
})

test('the same calls as promises', async () => {
  const pool = new Pool({ max: 2 })
  assert.deepEqual((await pool.query('SELECT $1::int AS n', [1])).rows, [{ n: 1 }])
  await assert.rejects(pool.query('SELEC 1'), { code: '42601' })
  const client = await pool.connect()
  assert.deepEqual((await client.query({ text: 'SELECT 2 AS n' })).rows, [{ n: 2 }])
  client.release()
  assert.equal(await pool.end(), undefined)
})

test('Client: connect, query and end with callbacks and as promises', async () => {
  const viaCallbacks = new Client()
  assert.deepEqual((await called((cb) => viaCallbacks.connect(cb))).args, [null])
  const { args: [err, result] } = await called((cb) => viaCallbacks.query('SELECT 1 AS n', cb))
  assert.deepEqual([err, result.rows], [null, [{ n: 1 }]])
  assert.deepEqual((await called((cb) => viaCallbacks.end(cb))).args, [null])

  const viaPromises = new Client()
  await viaPromises.connect()
  assert.deepEqual((await viaPromises.query('SELECT 2 AS n')).rows, [{ n: 2 }])
  await viaPromises.end()
})
