// release() on pg-rust-pool/pg's clients, as pg-pool's (issue 22): release() keeps the connection,
// release(err) and release(true) destroy it (a new backend next time, totalCount drops), a second
// release throws pg-pool's error, and a query after release fails as pg's closed client does.
// release() tells its caller nothing, as pg-pool's: the engine releases after the calls before it.
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

test('release() right after queries it did not await lets them finish; an open transaction is rolled back', async () => {
  const pool = new Pool({ max: 1 })
  try {
    const client = await pool.connect()
    const pid = client.processID
    const running = client.query('SELECT pg_sleep(0.05), 1 AS one')
    const queued = client.query('SELECT 2 AS two')
    client.release()
    assert.equal((await running).rows[0].one, 1)
    assert.equal((await queued).rows[0].two, 2)

    const again = await pool.connect()
    assert.equal(again.processID, pid)
    await again.query('CREATE TEMP TABLE IF NOT EXISTS released_open (n int)')
    await again.query('BEGIN')
    await again.query('INSERT INTO released_open VALUES (1)')
    again.release()

    const third = await pool.connect()
    assert.equal(third.processID, pid)
    // Still in that transaction, the session would see its own row.
    const { rows: [{ n }] } = await third.query('SELECT count(*)::int AS n FROM released_open')
    third.release()
    assert.equal(n, 0)
  } finally {
    await pool.end()
  }
})
