// Acceptance (issue 4, point 2): with max: 1, a client released inside a transaction (open after
// BEGIN; INSERT, or aborted by a failed statement) is rolled back before anyone else gets the
// connection; a clean client costs no extra statement. The server runs with log_statement=all
// and a log_line_prefix naming the application, so the log counts every statement it ran.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster } from './harness/cluster.mjs'
import { DatabaseManager, uniqueName, statementLog } from './helpers.mjs'

const cluster = await startCluster({ settings: { log_statement: 'all', log_line_prefix: '[%a] ' } })
const applicationName = uniqueName('release-rollback')
const db = new DatabaseManager({
  host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password,
  database: cluster.database, max: 1, connectionTimeoutMillis: 5000, applicationName,
})

test.after(async () => {
  await db.close()
  await cluster.stop()
})

const { mark, since: statementsSince } = statementLog(cluster, db, applicationName)

async function nextBorrowerIsClean() {
  const client = await db.getClient()
  try {
    // SAVEPOINT works only inside a transaction block.
    const outside = await client.query('SAVEPOINT probe').catch((e) => e)
    assert.equal(outside.code, '25P01', 'not in a transaction')
    const r = await client.query('SELECT count(*)::int AS n FROM rr_rows')
    assert.deepEqual(r.rows, [{ n: 0 }], 'no uncommitted row is visible')
    await client.query('INSERT INTO rr_rows VALUES (100)')
    await client.query('DELETE FROM rr_rows')
  } finally {
    await client.release()
  }
}

test.before(() => db.query('DROP TABLE IF EXISTS rr_rows; CREATE TABLE rr_rows (id int PRIMARY KEY)'))

test('released after BEGIN; INSERT without COMMIT: rolled back', async () => {
  const client = await db.getClient()
  await client.query('BEGIN')
  await client.query('INSERT INTO rr_rows VALUES (1)')
  await client.release()
  await nextBorrowerIsClean()
})

test('released after BEGIN; INSERT as one string: rolled back', async () => {
  const client = await db.getClient()
  await client.query('BEGIN; INSERT INTO rr_rows VALUES (1)')
  await client.release()
  await nextBorrowerIsClean()
})

test('released in an aborted transaction: rolled back', async () => {
  const client = await db.getClient()
  await client.query('BEGIN')
  await client.query('INSERT INTO rr_rows VALUES (2)')
  const err = await client.query('SELECT 1/0').catch((e) => e)
  assert.equal(err.code, '22012')
  const aborted = await client.query('SELECT 1').catch((e) => e)
  assert.equal(aborted.code, '25P02')
  await client.release()
  await nextBorrowerIsClean()
})

test('a dirty release costs one ROLLBACK; clean checkouts cost nothing extra', async () => {
  const dirty = await mark()
  const client = await db.getClient()
  await client.query('BEGIN')
  await client.query('INSERT INTO rr_rows VALUES (3)')
  await client.release()
  assert.deepEqual(await statementsSince(dirty), ['BEGIN', 'INSERT INTO rr_rows VALUES (3)', 'ROLLBACK'])

  const clean = await mark()
  for (let i = 0; i < 5; i++) {
    const c = await db.getClient()
    await c.query('SELECT $1::int AS i', [i])
    await c.release()
  }
  const committed = await db.getClient()
  await committed.query('BEGIN')
  await committed.query('DELETE FROM rr_rows')
  await committed.query('COMMIT')
  await committed.release()
  const idle = await db.getClient()
  await idle.release()
  assert.deepEqual(await statementsSince(clean), [
    ...Array(5).fill('SELECT $1::int AS i'), 'BEGIN', 'DELETE FROM rr_rows', 'COMMIT',
  ])
})
