// Acceptance (issue 4, point 9): callbacks that misbehave never crash the process, and each
// ends with the documented result (README, FAQ): a non-Error thrown is the rejection as is; a
// callback that does not await has its queries run, in order, before COMMIT; a callback that
// releases the client loses its open transaction; one that runs COMMIT or ROLLBACK by hand
// keeps what it did. The runner fails a spec on any unhandled rejection.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, DatabaseError, uniqueName, observer } from './helpers.mjs'

const applicationName = uniqueName('tx-misuse')
const db = new DatabaseManager({ max: 1, connectionTimeoutMillis: 5000, applicationName })
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test.before(() => db.query('DROP TABLE IF EXISTS mu_rows; CREATE TABLE mu_rows (id int PRIMARY KEY)'))
test.beforeEach(() => db.query('DELETE FROM mu_rows'))
test.after(async () => {
  await db.query('DROP TABLE mu_rows')
  await db.close()
})

const ids = async () => (await db.query('SELECT id FROM mu_rows ORDER BY id')).rows.map((r) => r.id)

/** The value a promise rejects with, or fails if it resolves. */
const rejection = (promise) => promise.then((v) => assert.fail(`resolved with ${v}`), (e) => ({ e }))

test('a callback that throws a string or undefined rejects with exactly that, rolled back', async () => {
  for (const thrown of ['a string', undefined, null, 42]) {
    const { e } = await rejection(db.executeTransaction(async (client) => {
      await client.query('INSERT INTO mu_rows VALUES (1)')
      throw thrown
    }))
    assert.equal(e, thrown)
    assert.deepEqual(await ids(), [])
  }
  const { e } = await rejection(db.executeTransaction(() => { throw 'synchronously' }))
  assert.equal(e, 'synchronously')
})

test('a callback that never awaits: its queries run in order before COMMIT', async () => {
  const value = await db.executeTransaction((client) => {
    client.query('INSERT INTO mu_rows VALUES (1)')
    client.query('INSERT INTO mu_rows VALUES (2)')
    return 'returned at once'
  })
  assert.equal(value, 'returned at once')
  assert.deepEqual(await ids(), [1, 2])
})

test('a callback that never awaits a failing query: nothing commits, the rejection is that failure', async () => {
  let failing
  const { e } = await rejection(db.executeTransaction((client) => {
    client.query('INSERT INTO mu_rows VALUES (3)')
    failing = client.query('INSERT INTO mu_rows VALUES (3)')
    client.query('INSERT INTO mu_rows VALUES (4)')
  }))
  assert.ok(e instanceof DatabaseError)
  assert.equal(e.code, '23505')
  assert.equal(e, await failing.catch((err) => err))
  assert.deepEqual(await ids(), [])
})

test('a callback that catches a failure and returns: the aborted transaction rejects with it', async () => {
  const { e } = await rejection(db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (5)')
    await client.query('SELECT 1/0').catch(() => 'ignored')
    return 'as if nothing happened'
  }))
  assert.equal(e.code, '22012')
  assert.deepEqual(await ids(), [])
})

test('a callback that recovers with a savepoint commits', async () => {
  await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (6)')
    await client.query('SAVEPOINT s')
    await client.query('SELECT 1/0').catch(() => {})
    await client.query('ROLLBACK TO SAVEPOINT s')
    await client.query('INSERT INTO mu_rows VALUES (7)')
  })
  assert.deepEqual(await ids(), [6, 7])
})

test('a callback that calls release() with the transaction open: rolled back, CLIENT_RELEASED', async () => {
  const { e } = await rejection(db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (8)')
    await client.release()
    const after = await client.query('SELECT 1').catch((err) => err)
    assert.equal(after.code, 'CLIENT_RELEASED')
    return 'released'
  }))
  assert.ok(e instanceof DatabaseError)
  assert.equal(e.code, 'CLIENT_RELEASED')
  assert.match(e.message, /released inside the callback while the transaction was open/)
  assert.deepEqual(await ids(), [])
  // Without awaiting release, and with release(true): the same.
  const { e: again } = await rejection(db.executeTransaction((client) => {
    client.query('INSERT INTO mu_rows VALUES (9)')
    client.release(true)
    client.query('INSERT INTO mu_rows VALUES (10)')
  }))
  assert.equal(again.code, 'CLIENT_RELEASED')
  assert.deepEqual(await ids(), [])
})

test('a callback that commits by hand, then releases: resolves, committed', async () => {
  const value = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (10)')
    await client.query('COMMIT')
    await client.release()
    return 'committed by hand'
  })
  assert.equal(value, 'committed by hand')
  assert.deepEqual(await ids(), [10])
})

test('a callback that runs COMMIT by hand: resolves, and what came after ran outside', async () => {
  const value = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (11)')
    await client.query('COMMIT')
    await client.query('INSERT INTO mu_rows VALUES (12)')
    return 'ok'
  })
  assert.equal(value, 'ok')
  assert.deepEqual(await ids(), [11, 12])
})

test('a callback that runs ROLLBACK by hand: resolves with its value, nothing applied', async () => {
  const value = await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (13)')
    await client.query('ROLLBACK')
    return 'dry run'
  })
  assert.equal(value, 'dry run')
  assert.deepEqual(await ids(), [])
})

test('a callback that opens a new transaction after COMMIT by hand: it is committed too', async () => {
  await db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (14); COMMIT; BEGIN; INSERT INTO mu_rows VALUES (15)')
  })
  assert.deepEqual(await ids(), [14, 15])
})

test('a multi-statement string inside the transaction runs in it, not in one of its own', async () => {
  const { e } = await rejection(db.executeTransaction(async (client) => {
    await client.query('INSERT INTO mu_rows VALUES (16); INSERT INTO mu_rows VALUES (17)')
    throw new Error('undo both')
  }))
  assert.equal(e.message, 'undo both')
  assert.deepEqual(await ids(), [])
})

test('a callback that keeps using its client after the transaction ended gets CLIENT_RELEASED', async () => {
  let kept
  await db.executeTransaction((client) => { kept = client })
  await sleep(10)
  assert.equal((await kept.query('SELECT 1').catch((e) => e)).code, 'CLIENT_RELEASED')
  assert.throws(() => kept.release(), { code: 'CLIENT_RELEASED' })
})

test('afterwards the one connection is idle, outside any transaction', async () => {
  const watcher = await observer()
  try {
    const r = await watcher.query('SELECT state FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    assert.deepEqual(r.rows, [{ state: 'idle' }])
  } finally {
    await watcher.end()
  }
})
