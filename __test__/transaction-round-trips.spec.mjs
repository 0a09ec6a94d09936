// Issue 7: executeTransaction's BEGIN goes out with the callback's first statement, in the same
// round trip, and a callback that runs nothing sends neither BEGIN nor COMMIT. A TCP proxy in
// front of the server counts round trips (bursts the client sends that the server answers); the
// server runs with log_statement=all, so its log shows what ran, in order. On a standby, where
// BEGIN READ WRITE fails, the callback's first query rejects with BEGIN's error, and so does the
// transaction.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster, startReplica } from './harness/cluster.mjs'
import { DatabaseManager, DatabaseError, uniqueName, statementLog, roundTripCounter } from './helpers.mjs'

const primary = await startCluster({ settings: { log_statement: 'all', log_line_prefix: '[%a] ' } })

const counter = await roundTripCounter(primary)
const applicationName = uniqueName('tx-round-trips')
const db = new DatabaseManager({
  host: '127.0.0.1', port: counter.port, user: primary.user, password: primary.password,
  database: primary.database, max: 1, applicationName,
})
const log = statementLog(primary, db, applicationName)

test.before(() => db.query('CREATE TABLE rt_rows (id int PRIMARY KEY, n int); INSERT INTO rt_rows VALUES (1, 0)'))
test.after(async () => {
  await db.close()
  await counter.close()
  await primary.stop()
})

const transfer = (tx) => tx.query('UPDATE rt_rows SET n = n + 1 WHERE id = $1', [1])
  .then(() => tx.query('SELECT n FROM rt_rows WHERE id = $1', [1]))

test('BEGIN rides with the first statement: UPDATE and SELECT in a transaction cost three round trips', async () => {
  // The first run prepares the statements on the connection; the second shows the steady state.
  await db.executeTransaction(transfer)
  const marker = await log.mark()
  const before = counter.trips()
  const r = await db.executeTransaction(transfer)
  const trips = counter.trips() - before
  assert.deepEqual(r.rows, [{ n: 2 }])
  // BEGIN + UPDATE, SELECT, COMMIT: node-postgres needs four (BEGIN alone first).
  assert.equal(trips, 3)
  assert.deepEqual(await log.since(marker), [
    'BEGIN', 'UPDATE rt_rows SET n = n + 1 WHERE id = $1', 'SELECT n FROM rt_rows WHERE id = $1', 'COMMIT',
  ])
})

test('a callback that runs no query sends neither BEGIN nor COMMIT', async () => {
  const marker = await log.mark()
  const before = counter.trips()
  assert.equal(await db.executeTransaction(() => 'nothing to do', { isolationLevel: 'serializable' }), 'nothing to do')
  assert.equal(counter.trips() - before, 0)
  assert.deepEqual(await log.since(marker), [])
})

test('a transaction whose first statement fails still began: it rolls back, its later statements never commit', async () => {
  const marker = await log.mark()
  const err = await db.executeTransaction(async (tx) => {
    await tx.query('INSERT INTO rt_rows VALUES (1, 0)')
  }).catch((e) => e)
  assert.equal(err.code, '23505')
  assert.deepEqual(await log.since(marker), ['BEGIN', 'INSERT INTO rt_rows VALUES (1, 0)', 'ROLLBACK'])
})

test('on a standby, BEGIN READ WRITE fails: the first query and the transaction reject with its error', async () => {
  const replica = await startReplica(primary)
  const standby = new DatabaseManager({
    host: replica.host, port: replica.port, user: replica.user, password: replica.password,
    database: replica.database, max: 1,
  })
  try {
    let first
    const err = await standby.executeTransaction((tx) => {
      first = tx.query('SELECT 1 AS one')
      return first
    }, { readOnly: false }).catch((e) => e)
    assert.ok(err instanceof DatabaseError, String(err))
    assert.equal(err.code, '0A000')
    assert.match(err.message, /read-write mode during recovery/)
    assert.equal(err, await first.catch((e) => e), 'the transaction rejects with the first query\'s error')

    // A callback that swallows the failure cannot commit what did not begin.
    const swallowed = await standby.executeTransaction(async (tx) => {
      await tx.query('SELECT 1 AS one').catch(() => {})
      return 'as if nothing happened'
    }, { readOnly: false }).catch((e) => e)
    assert.ok(swallowed instanceof DatabaseError, String(swallowed))
    assert.equal(swallowed.code, '0A000')

    // The connection is still good, for plain queries and read-only transactions.
    const r = await standby.executeTransaction((tx) => tx.query('SELECT current_setting($1) AS ro', ['transaction_read_only']), { readOnly: true })
    assert.deepEqual(r.rows, [{ ro: 'on' }])
    assert.equal(standby.getPoolStatistics().connectionsCreated, 1)
  } finally {
    await standby.close()
    await replica.stop()
  }
})

test('a client\'s plain BEGIN goes out with its next query: pg-style BEGIN, UPDATE, SELECT, COMMIT cost three round trips', async () => {
  // Once first, so that every statement is prepared on the one connection (a first use costs a
  // round trip more: it is prepared, then run).
  const warm = await db.getClient()
  await warm.query('BEGIN')
  await transfer(warm)
  await warm.query('COMMIT')
  warm.release()
  const marker = await log.mark()
  const client = await db.getClient()
  const before = counter.trips()
  try {
    const begun = await client.query('BEGIN')
    assert.deepEqual({ command: begun.command, rowCount: begun.rowCount, rows: begun.rows, fields: begun.fields },
      { command: 'BEGIN', rowCount: null, rows: [], fields: [] })
    assert.equal(counter.trips() - before, 0, 'BEGIN alone sends nothing')
    const r = await transfer(client)
    await client.query('COMMIT')
    assert.equal(counter.trips() - before, 3)
    assert.ok(r.rows[0].n > 0)
  } finally {
    client.release()
  }
  assert.deepEqual(await log.since(marker), [
    'BEGIN', 'UPDATE rt_rows SET n = n + 1 WHERE id = $1', 'SELECT n FROM rt_rows WHERE id = $1', 'COMMIT',
  ])
})

test('a deferred BEGIN still makes a transaction: rolled back, nothing stays; released before any query, nothing was opened', async () => {
  const marker = await log.mark()
  const client = await db.getClient()
  try {
    await client.query('begin;')
    await client.query('UPDATE rt_rows SET n = -100 WHERE id = $1', [1])
    await client.query('ROLLBACK')
    const { rows } = await client.query('SELECT n FROM rt_rows WHERE id = $1', [1])
    assert.notEqual(rows[0].n, -100)
    await client.query('START TRANSACTION')
  } finally {
    await client.release()
  }
  // START TRANSACTION never went out, so the release had nothing to roll back.
  assert.deepEqual(await log.since(marker), [
    'begin;', 'UPDATE rt_rows SET n = -100 WHERE id = $1', 'ROLLBACK', 'SELECT n FROM rt_rows WHERE id = $1',
  ])
})

test('a BEGIN with options goes out on its own (a bad option fails there); a limited query after a plain BEGIN runs inside it', async () => {
  const client = await db.getClient()
  try {
    const bad = await client.query('BEGIN ISOLATION LEVEL NONSENSE').catch((e) => e)
    assert.equal(bad.code, '42601')
    await client.query('BEGIN')
    await client.query({ text: 'UPDATE rt_rows SET n = -200 WHERE id = $1', values: [1], timeoutMillis: 5000 })
    await client.query('ROLLBACK')
    const { rows } = await client.query('SELECT n FROM rt_rows WHERE id = $1', [1])
    assert.notEqual(rows[0].n, -200)
  } finally {
    client.release()
  }
})
