// pg-pool's events on pg-rust-pool/pg's Pool (issue 22): `connect`, `acquire`, `release` and
// `remove` carry the client of the connection, the same object for the same connection while it
// lives, and the same object pool.connect() returns; `release` gives (err, client).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { until } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool } = require('pg-rust-pool/pg')

function record(pool) {
  const seen = []
  pool.on('connect', (client) => seen.push(['connect', client]))
  pool.on('acquire', (client) => seen.push(['acquire', client]))
  pool.on('release', (err, client) => seen.push(['release', client, err]))
  pool.on('remove', (client) => seen.push(['remove', client]))
  return seen
}

test('connect comes before acquire, and every event carries the client connect() returns', async () => {
  const pool = new Pool({ max: 1 })
  const seen = record(pool)
  try {
    const client = await pool.connect()
    const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid')
    assert.equal(client.processID, pid)
    client.release()
    await until(() => seen.length === 3, { what: 'connect, acquire and release' })
    assert.deepEqual(seen.map(([name]) => name), ['connect', 'acquire', 'release'])
    for (const [, c, err] of seen) {
      assert.equal(c, client)
      assert.equal(err, undefined)
    }

    // pool.query() takes the same connection: its events carry the same object.
    await pool.query('SELECT 1')
    await until(() => seen.length === 5, { what: 'the query\'s acquire and release' })
    assert.deepEqual(seen.slice(3).map(([name, c]) => [name, c === client]), [['acquire', true], ['release', true]])
    assert.equal(await pool.connect(), client, 'the next checkout of the connection is the same object')

    const broken = new Error('broken')
    client.release(broken)
    await until(() => seen.length === 8, { what: 'acquire, release and remove' })
    assert.deepEqual(seen.slice(5).map(([name, c, err]) => [name, c === client, err]), [['acquire', true, undefined], ['release', true, broken], ['remove', true, undefined]])

    // A new connection: a new object.
    const next = await pool.connect()
    assert.notEqual(next, client)
    assert.notEqual(next.processID, client.processID)
    next.release()
  } finally {
    await pool.end()
  }
})

test('concurrent checkouts get one object per connection', async () => {
  const pool = new Pool({ max: 3 })
  try {
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    assert.equal(new Set(clients).size, 3)
    assert.equal(new Set(clients.map((c) => c.processID)).size, 3)
    for (const c of clients) c.release()
    const again = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    assert.deepEqual(new Set(again), new Set(clients))
    for (const c of again) c.release()
  } finally {
    await pool.end()
  }
})
