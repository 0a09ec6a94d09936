// pg-cursor and pg-query-stream on pg-rust-pool/pg (issue 26): `client.query(new Cursor(…))` and
// `client.query(new QueryStream(…))` read, through their own public APIs, the rows real pg reads
// with them: the same batches, rows, errors and end, on a pool's client, a Client and the pool.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import realPg from 'pg'
import Cursor from 'pg-cursor'
import QueryStream from 'pg-query-stream'

const require = createRequire(import.meta.url)
const ours = require('pg-rust-pool/pg')

const SQL = `SELECT i, 'row ' || i AS t, (i / 4.0)::numeric AS n, i % 2 = 0 AS even, ARRAY[i] AS arr,
  jsonb_build_object('i', i) AS doc, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 day' AS at
  FROM generate_series(1, $1::int) AS i`

/** Runs `fn(client)` on a checked-out client of `pg`'s pool, released after. */
async function onClient(pg, fn) {
  const pool = new pg.Pool({ max: 1 })
  const client = await pool.connect()
  try {
    return await fn(client, pool)
  } finally {
    client.release()
    await pool.end()
  }
}

/** Every read of `n` rows until an empty one, as batches. */
async function readAll(cursor, n) {
  const reads = []
  for (;;) {
    const rows = await cursor.read(n)
    reads.push(rows)
    if (rows.length === 0) return reads
  }
}

/** Both libraries' answer to `fn(pg)`. */
const both = (fn) => Promise.all([fn(realPg), fn(ours)])

test('Cursor: read(n) gives the batches pg gives, with promises and callbacks, then [] and `end`', async () => {
  const [theirs, mine] = await both((pg) => onClient(pg, async (client) => {
    const cursor = client.query(new Cursor(SQL, [10]))
    let ended = null
    cursor.on('end', (result) => { ended = { command: result.command, rowCount: result.rowCount } })
    const reads = await readAll(cursor, 4)
    // The callback form, after the end: no rows.
    const after = await new Promise((resolve, reject) => cursor.read(4, (err, rows) => (err ? reject(err) : resolve(rows))))
    await cursor.close()
    // Array rows and the cursor's own `types`.
    const types = { getTypeParser: (oid) => (oid === 23 ? (text) => `int ${text}` : (text) => text) }
    const arrays = client.query(new Cursor('SELECT i, i::text AS s FROM generate_series(1, 3) AS i', [], { rowMode: 'array', types }))
    const arrayRows = await arrays.read(10)
    await arrays.close()
    return { reads, after, ended, arrayRows, still: (await client.query('SELECT 1 AS one')).rows }
  }))
  assert.deepEqual(mine.reads.map((r) => r.length), [4, 4, 2, 0])
  assert.deepEqual(mine, theirs)
})

test('Cursor: close() after the first read stops it and the client goes on; an error rejects the read', async () => {
  const [theirs, mine] = await both((pg) => onClient(pg, async (client) => {
    const cursor = client.query(new Cursor('SELECT i FROM (SELECT generate_series(1, 1000000) AS i) AS s'))
    const first = await cursor.read(5)
    await new Promise((resolve, reject) => cursor.close((err) => (err ? reject(err) : resolve())))
    const next = (await client.query('SELECT 2 AS two')).rows
    const failing = client.query(new Cursor('SELECT 1 / (i - 3) AS q FROM generate_series(1, 5) AS i'))
    const before = await failing.read(2)
    const error = await failing.read(2).then(() => null, (e) => ({ code: e.code, message: e.message }))
    await failing.close()
    const recovered = (await client.query('SELECT 3 AS three')).rows
    return { first, next, before, error, recovered }
  }))
  assert.equal(mine.error?.code, '22012')
  assert.deepEqual(mine, theirs)
})

test('QueryStream: the rows pg reads, through for await and pipe, on a pool client and on a Client', async () => {
  const [theirs, mine] = await both(async (pg) => {
    const viaPoolClient = await onClient(pg, async (client) => {
      const rows = []
      for await (const row of client.query(new QueryStream(SQL, [25], { batchSize: 7 }))) rows.push(row)
      return rows
    })
    const single = new pg.Client()
    await single.connect()
    try {
      const piped = []
      await pipeline(single.query(new QueryStream(SQL, [12], { batchSize: 5 })), new Writable({
        objectMode: true,
        write(row, _, done) { piped.push(row); done() },
      }))
      return { viaPoolClient, piped, after: (await single.query('SELECT 4 AS four')).rows }
    } finally {
      await single.end()
    }
  })
  assert.equal(mine.viaPoolClient.length, 25)
  assert.deepEqual(mine, theirs)
})

test('QueryStream: destroyed early, the client goes on; a failing query emits error; pool.query(stream) settles at its end', async () => {
  const [theirs, mine] = await both((pg) => onClient(pg, async (client, pool) => {
    const stream = client.query(new QueryStream('SELECT i FROM (SELECT generate_series(1, 1000000) AS i) AS s', [], { batchSize: 10 }))
    const first = []
    for await (const row of stream) {
      first.push(row)
      if (first.length === 3) break
    }
    const next = (await client.query('SELECT 5 AS five')).rows
    const failing = client.query(new QueryStream('SELECT 1 / (i - 2) AS q FROM generate_series(1, 3) AS i'))
    const error = await new Promise((resolve) => {
      failing.on('error', (e) => resolve(e.code))
      failing.resume()
    })
    return { first, next, error }
  }))
  assert.equal(mine.error, '22012')
  assert.deepEqual(mine, theirs)

  // pool.query(new QueryStream(…)) as pg-pool runs it: on a client of its own, settled at its end.
  const [poolTheirs, poolMine] = await both(async (pg) => {
    const pool = new pg.Pool({ max: 2 })
    try {
      const stream = new QueryStream(SQL, [6], { batchSize: 4 })
      const settled = pool.query(stream)
      const rows = []
      for await (const row of stream) rows.push(row)
      const result = await settled
      return { rows, command: result.command, rowCount: result.rowCount }
    } finally {
      await pool.end()
    }
  })
  assert.deepEqual(poolMine, poolTheirs)
})
