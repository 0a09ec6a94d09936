// pool.end() on pg-rust-pool/pg's Pool, as pg-pool's (issue 22): it waits for checked-out clients
// to be released, `ending` and `ended` follow it, and the pool refuses work after it with
// pg-pool's messages.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { sleep } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool } = require('pg-rust-pool/pg')

test('end() waits for a checked-out client, whose queries still run until it is released', async () => {
  const pool = new Pool({ max: 2 })
  const client = await pool.connect()
  let ended = false
  const ending = pool.end().then(() => {
    ended = true
  })
  assert.deepEqual([pool.ending, pool.ended], [true, false])
  await sleep(200)
  assert.equal(ended, false, 'end() waits while a client is out')
  assert.deepEqual((await client.query('SELECT 1 AS n')).rows, [{ n: 1 }])
  client.release()
  await ending
  assert.deepEqual([ended, pool.ended], [true, true])
})

test('after end(): queries, checkouts and a second end() fail with pg-pool\'s messages', async () => {
  const pool = new Pool()
  await pool.query('SELECT 1')
  await pool.end()
  await assert.rejects(pool.query('SELECT 1'), { message: 'Cannot use a pool after calling end on the pool', code: 'POOL_CLOSED' })
  await assert.rejects(pool.connect(), { message: 'Cannot use a pool after calling end on the pool' })
  await assert.rejects(pool.end(), { message: 'Called end on pool more than once' })
})
