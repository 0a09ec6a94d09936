// Acceptance (issue 4, point 7): code that holds a connection and asks the same manager for
// another while none is free fails fast with POOL_DEADLOCK instead of waiting out the acquire
// timeout; the transaction it runs in can still commit. Code holding nothing waits as usual.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, DatabaseError, withManager, clientElsewhere } from './helpers.mjs'

// Far longer than the fast failures measured below.
const ACQUIRE_TIMEOUT = 10000
// "Fast": a fifth of the acquire timeout. Unloaded, a POOL_DEADLOCK takes a millisecond or two; a
// loaded machine can delay it by hundreds; a call that waited for a connection instead would take
// the whole ACQUIRE_TIMEOUT.
const FAST = ACQUIRE_TIMEOUT / 5

async function rejectsFast(promise) {
  const started = Date.now()
  const err = await promise.then(() => assert.fail('expected POOL_DEADLOCK'), (e) => e)
  const elapsed = Date.now() - started
  assert.ok(err instanceof DatabaseError, String(err))
  assert.equal(err.code, 'POOL_DEADLOCK')
  assert.ok(elapsed < FAST, `failed after ${elapsed} ms`)
  return err
}

test('manager.query() inside executeTransaction on max: 1 is POOL_DEADLOCK, and the transaction commits', async () => {
  await withManager({ max: 1, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
    await db.query('DROP TABLE IF EXISTS dl_rows; CREATE TABLE dl_rows (id int)')
    await db.executeTransaction(async (client) => {
      await client.query('INSERT INTO dl_rows VALUES (1)')
      const err = await rejectsFast(db.query('SELECT count(*) FROM dl_rows'))
      assert.match(err.message, /all 1 connections \(`max`\) are in use and this code already holds one/)
      assert.match(err.message, /client\.query\(…\)/)
      assert.match(err.stack.split('\n')[1], /deadlock\.spec\.mjs/)
      // Also from code the callback started later, and for nested transactions and clients.
      await new Promise((resolve) => setTimeout(resolve, 10))
      await rejectsFast(db.executeTransaction((inner) => inner.query('SELECT 1')))
      // The nested transaction checks out with its first query: one that swallows that query's
      // POOL_DEADLOCK still rejects with it, and one that runs no query needs no connection.
      await rejectsFast(db.executeTransaction(async (inner) => {
        await inner.query('SELECT 1').catch(() => {})
        return 'swallowed'
      }))
      assert.equal(await db.executeTransaction(() => 'no query'), 'no query')
      await rejectsFast(db.getClient())
      await client.query('INSERT INTO dl_rows VALUES (2)')
    })
    assert.deepEqual((await db.query('SELECT count(*)::int AS n FROM dl_rows')).rows, [{ n: 2 }])
    await db.query('DROP TABLE dl_rows')
  })
})

test('a context holding a client from getClient() fails fast until it releases', async () => {
  await withManager({ max: 1, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
    const client = await db.getClient()
    await rejectsFast(db.query('SELECT 1'))
    await client.release()
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  })
})

test('with a connection free, code holding one gets another', async () => {
  await withManager({ max: 2, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
    const value = await db.executeTransaction(async (client) => {
      // The transaction's first query checks out its connection; the manager's query then gets
      // the other one.
      const outer = await client.query('SELECT pg_backend_pid() AS pid')
      const inner = await db.query('SELECT pg_backend_pid() AS pid')
      return inner.rows[0].pid !== outer.rows[0].pid
    })
    assert.equal(value, true)
  })
})

test('code holding nothing waits for a connection as usual', async () => {
  await withManager({ max: 1, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
    // Another request holds the only connection for a while (its own async context). The query
    // starts once it holds it, and can only be served after it lets go.
    let letGo = false
    const other = await clientElsewhere(db)
    const released = new Promise((resolve) => setTimeout(resolve, 300)).then(() => { letGo = true; return other.release() })
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    assert.equal(letGo, true, 'it waited for the other request')
    await released
  })
})

test('holding a client of one manager does not limit another', async () => {
  const other = new DatabaseManager({ max: 1, connectionTimeoutMillis: ACQUIRE_TIMEOUT })
  try {
    await withManager({ max: 1, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
      await db.executeTransaction(async () => {
        assert.deepEqual((await other.query('SELECT 1 AS one')).rows, [{ one: 1 }])
      })
    })
  } finally {
    await other.close()
  }
})

test('POOL_DEADLOCK only for a real deadlock: code holding a client waits for one another caller gives back', async () => {
  await withManager({ max: 2, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
    // The other caller holds one connection for 150 ms; the code below holds the other and asks
    // for a third, which it can only get once the first callback has ended.
    let holding
    const held = new Promise((resolve) => { holding = resolve })
    let firstEnded = false
    const first = db.executeTransaction(async (c) => {
      await c.query('SELECT 1')
      holding()
      await new Promise((resolve) => setTimeout(resolve, 150))
      firstEnded = true
    })
    await held
    const value = await db.executeTransaction(async (c) => {
      await c.query('SELECT 1')
      return (await db.query('SELECT 2 AS n')).rows[0].n
    })
    assert.equal(value, 2)
    assert.equal(firstEnded, true, 'it waited for the other transaction')
    await first
  })
})

test('a cycle of two: a holder waiting for the pool fails fast with POOL_DEADLOCK, which frees the other', async () => {
  await withManager({ max: 2, connectionTimeoutMillis: ACQUIRE_TIMEOUT }, async (db) => {
    let ready = 0
    const both = () => db.executeTransaction(async (c) => {
      await c.query('SELECT 1')
      ready += 1
      while (ready < 2) await new Promise((resolve) => setTimeout(resolve, 5))
      return db.query('SELECT 2')
    })
    const started = Date.now()
    const outcomes = await Promise.allSettled([both(), both()])
    assert.ok(Date.now() - started < FAST, 'no wait for the acquire timeout')
    // The victim rolls back and gives its connection back, which the other one then gets (unless
    // both saw the cycle at the same instant).
    const failed = outcomes.filter((o) => o.status === 'rejected')
    assert.ok(failed.length >= 1)
    for (const o of failed) assert.equal(o.reason.code, 'POOL_DEADLOCK', o.reason.message)
    assert.equal((await db.query('SELECT 3 AS n')).rows[0].n, 3)
  })
})
