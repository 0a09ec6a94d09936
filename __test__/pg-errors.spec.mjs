// Errors of pg-rust-pool/pg as pg raises them where code depends on it (issue 22): server errors
// are DatabaseErrors with pg's fields; a connection killed under a client emits `error` on it and
// on the pool with `Connection terminated unexpectedly`; an idle one, the pool's `error` with
// the server's error; a checkout past connectionTimeoutMillis and a submittable query.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import Cursor from 'pg-cursor'
import { observer } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool, DatabaseError } = require('pg-rust-pool/pg')

/**
 * The next `name` event of `emitter`. The engine's events never keep the process alive (an idle
 * pool lets it exit), so a timer does while the test waits for one.
 */
async function next(emitter, name) {
  const keepAlive = setTimeout(() => {}, 10000)
  try {
    return await once(emitter, name)
  } finally {
    clearTimeout(keepAlive)
  }
}

async function terminate(pid) {
  const admin = await observer()
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
  } finally {
    await admin.end()
  }
}

test('a server error is a DatabaseError with pg\'s fields', async () => {
  const pool = new Pool()
  try {
    const err = await pool.query('SELECT 1 +').catch((e) => e)
    assert.ok(err instanceof DatabaseError)
    assert.deepEqual([err.code, err.severity, err.position], ['42601', 'ERROR', '11'])
    const client = await pool.connect()
    try {
      await client.query('CREATE TEMP TABLE errors_t (id int PRIMARY KEY CHECK (id > 0))')
      const check = await client.query('INSERT INTO errors_t VALUES (0)').catch((e) => e)
      assert.deepEqual([check.code, check.table, check.constraint, check.schema.startsWith('pg_temp')], ['23514', 'errors_t', 'errors_t_id_check', true])
      assert.match(check.routine, /Constraint/)
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
})

test('a connection killed under a client: error on the client and the pool, "Connection terminated unexpectedly"', async () => {
  const pool = new Pool({ max: 1 })
  try {
    const client = await pool.connect()
    const onClient = next(client, 'error')
    const onPool = next(pool, 'error')
    await terminate(client.processID)
    const [[clientError], [poolError, poolClient]] = await Promise.all([onClient, onPool])
    assert.equal(poolClient, client)
    assert.equal(clientError, poolError)
    assert.equal(poolError.message, 'Connection terminated unexpectedly')
    assert.equal(poolError.cause.code, '57P01', 'the server\'s own error is its cause')
    client.release(poolError)
    assert.deepEqual((await pool.query('SELECT 1 AS n')).rows, [{ n: 1 }], 'the pool carries on')
  } finally {
    await pool.end()
  }
})

test('an idle connection killed: the pool\'s error gets the server\'s error and its client', async () => {
  const pool = new Pool({ max: 1 })
  try {
    const client = await pool.connect()
    client.release()
    const onPool = next(pool, 'error')
    await terminate(client.processID)
    const [error, failed] = await onPool
    assert.equal(failed, client)
    assert.equal(error.code, '57P01')
  } finally {
    await pool.end()
  }
})

test('a checkout past connectionTimeoutMillis says what pg-pool says', async () => {
  const pool = new Pool({ max: 1, connectionTimeoutMillis: 200 })
  // Held in an async context of its own: the one holding it would get POOL_DEADLOCK instead of waiting.
  const client = await new Promise((resolve, reject) => setImmediate(() => pool.connect().then(resolve, reject)))
  try {
    const late = await pool.connect().catch((e) => e)
    assert.deepEqual([late.message, late.code], ['timeout exceeded when trying to connect', 'POOL_TIMEOUT'])
    assert.match(late.cause.message, /max/)
  } finally {
    client.release()
    await pool.end()
  }
})

test('a submittable other than a cursor is told it cannot run; one without handleError throws', async () => {
  const pool = new Pool()
  try {
    const client = await pool.connect()
    try {
      // pg-cursor runs (pg-stream.spec); a submittable that speaks the protocol itself does not.
      const cursor = client.query(new Cursor('SELECT 1 AS n'))
      assert.ok(cursor instanceof Cursor, 'the submittable is returned, as pg returns it')
      assert.deepEqual(await cursor.read(10), [{ n: 1 }])
      const told = await new Promise((resolve) => client.query({ submit() {}, handleError: resolve }))
      assert.equal(told.code, 'NOT_SUPPORTED')
      assert.match(told.message, /pg-cursor/)
      assert.throws(() => pool.query({ submit() {} }), { code: 'NOT_SUPPORTED' })
      assert.deepEqual((await client.query('SELECT 1 AS n')).rows, [{ n: 1 }], 'the client is still usable')
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
})
