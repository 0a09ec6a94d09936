// release() on pg-rust-pool/pg's clients, as pg-pool's (issue 22): release() keeps the connection,
// release(err) and release(true) destroy it (a new backend next time, totalCount drops), a second
// release throws pg-pool's error, and a query after release fails as pg's closed client does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { until } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool, DatabaseError } = require('pg-rust-pool/pg')

test('release() keeps the connection; release(err) and release(true) destroy it', async () => {
  const pool = new Pool({ max: 1 })
  try {
    const first = await pool.connect()
    const pid = first.processID
    first.release()
    const kept = await pool.connect()
    assert.equal(kept.processID, pid)
    assert.equal(pool.totalCount, 1)

    kept.release(new Error('this connection is in a bad state'))
    await until(() => pool.totalCount === 0, { what: 'the destroyed connection gone' })
    const fresh = await pool.connect()
    assert.notEqual(fresh.processID, pid)
    const { rows: [{ backend }] } = await fresh.query('SELECT pg_backend_pid() AS backend')
    assert.equal(backend, fresh.processID)

    fresh.release(true)
    await until(() => pool.totalCount === 0, { what: 'the connection released with true gone' })
    const third = await pool.connect()
    assert.notEqual(third.processID, fresh.processID)
    third.release()
  } finally {
    await pool.end()
  }
})

test('a second release() throws, and a query after release() rejects', async () => {
  const pool = new Pool({ max: 1 })
  try {
    const client = await pool.connect()
    client.release()
    assert.throws(() => client.release(), (e) => e instanceof DatabaseError && e.message === 'Release called on client which has already been released to the pool.')
    await assert.rejects(client.query('SELECT 1'), (e) => e.message === 'Client was closed and is not queryable' && e.code === 'CLIENT_RELEASED')
  } finally {
    await pool.end()
  }
})
