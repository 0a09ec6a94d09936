// Acceptance (issue 5, point 4): dead connections never reach the user. After every backend of
// the pool is terminated, and after a fast restart of the server, the next 100 queries succeed
// with nothing done by the user; each idle connection that died is reported by an `error` event;
// and a process with no `error` listener survives it all.
//
// These tests end backends and restart the server, so they run on a cluster of their own.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster } from './harness/cluster.mjs'
import { DatabaseManager, observer, backends, backendPids, eventually, runFixture, uniqueName } from './helpers.mjs'

let cluster
let client
async function connectObserver() {
  client = await observer({ connectionString: cluster.url })
  client.on('error', () => {}) // a restart ends the observer too; restart() replaces it
}
before(async () => {
  cluster = await startCluster()
  await connectObserver()
})
after(async () => {
  await client?.end().catch(() => {})
  await cluster?.stop()
})

/** A fast restart (SIGINT to the postmaster, what `pg_ctl restart -m fast` does). */
async function restart() {
  await cluster.restart()
  await client.end().catch(() => {})
  await connectObserver()
}

/** Ends every backend of `applicationName` and waits until the server shows none. */
async function terminateAll(applicationName) {
  await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  assert.ok(await eventually(async () => (await backends(client, applicationName)) === 0), 'the backends ended')
}

/** 100 concurrent queries, each checked. */
async function hundredQueries(db) {
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => db.query('SELECT $1::int AS i', [i])))
  results.forEach((r, i) => assert.deepEqual(r.rows, [{ i }]))
}

/** A manager on the cluster with `min` idle connections open, recording its events. */
async function openPool(prefix) {
  const applicationName = uniqueName(prefix)
  const db = new DatabaseManager({ connectionString: cluster.url, applicationName, min: 3, max: 5 })
  const errors = []
  const removed = []
  db.on('error', (error, info) => errors.push({ error, ...info }))
  db.on('remove', (event) => removed.push(event))
  await db.initialize()
  const pids = await backendPids(client, applicationName)
  assert.equal(pids.length, 3)
  return { db, applicationName, pids, errors, removed }
}

/** Asserts one `error` event (a DatabaseError with a code) and one `remove` (broken) per pid. */
async function assertReported({ errors, removed }, pids) {
  const byPid = (a, b) => a - b
  assert.ok(await eventually(() => errors.length >= pids.length, 2000), `an error event per idle connection; got ${errors.length}`)
  assert.deepEqual(errors.map((e) => e.pid).sort(byPid), [...pids].sort(byPid))
  for (const { error } of errors) {
    assert.equal(error.name, 'DatabaseError')
    assert.equal(typeof error.code, 'string', `the error has a code: ${error.message}`)
  }
  const broken = removed.filter((e) => e.reason === 'broken').map((e) => e.pid)
  assert.deepEqual(broken.sort(byPid), [...pids].sort(byPid), 'each dead connection was removed as broken')
}

test('after pg_terminate_backend of every backend, the next 100 queries succeed and each idle connection reports an error', async () => {
  const pool = await openPool('dead-terminated')
  try {
    await terminateAll(pool.applicationName)
    await hundredQueries(pool.db)
    await assertReported(pool, pool.pids)
    assert.ok(pool.errors.every((e) => e.error.code === '57P01'), 'admin_shutdown: terminated by pg_terminate_backend')
  } finally {
    await pool.db.close()
  }
})

test('a query sent just as its idle connection is terminated succeeds, on another connection', async () => {
  // Whether the backend's goodbye (FATAL 57P01) arrives before, with or after the query, the
  // query must not fail: before it is read, the query waits behind it unsent; after, it is sent
  // on a connection the server ends, and the server's error comes back to it.
  const applicationName = uniqueName('dead-race')
  const db = new DatabaseManager({ connectionString: cluster.url, applicationName, min: 1, max: 1 })
  db.on('error', () => {})
  try {
    await db.initialize()
    for (let i = 0; i < 40; i++) {
      const [pid] = await backendPids(client, applicationName)
      await client.query('SELECT pg_terminate_backend($1)', [pid])
      assert.deepEqual((await db.query('SELECT $1::int AS i', [i])).rows, [{ i }], `round ${i}`)
    }
  } finally {
    await db.close()
  }
})

test('after a fast restart of the server, the next 100 queries succeed and each idle connection reports an error', async () => {
  const pool = await openPool('dead-restart')
  try {
    await restart()
    await hundredQueries(pool.db)
    await assertReported(pool, pool.pids)
  } finally {
    await pool.db.close()
  }
})

test('a process with no error listener survives terminated backends and a restart, and exits 0', async () => {
  const applicationName = uniqueName('dead-child')
  const run = runFixture('dead-connections-child.mjs', { FIXTURE_URL: cluster.url, FIXTURE_APPLICATION_NAME: applicationName })
  const warnings = () => run.stderr().match(/add an 'error' listener/g)?.length ?? 0
  const rounds = () => run.stdout().match(/^ok 100$/gm)?.length ?? 0
  try {
    assert.ok(await eventually(() => run.stdout().includes('ready\n'), 15000), `the child started; stderr: ${run.stderr()}`)

    await terminateAll(applicationName)
    assert.ok(await eventually(() => warnings() >= 3, 5000), `each error is logged as a warning; stderr: ${run.stderr()}`)
    run.child.stdin.write('go\n')
    assert.ok(await eventually(() => rounds() === 1, 10000), `100 queries after the terminations; stdout: ${run.stdout()} stderr: ${run.stderr()}`)

    const before = warnings()
    await restart()
    assert.ok(await eventually(() => warnings() >= before + 3, 5000), `each error is logged as a warning; stderr: ${run.stderr()}`)
    run.child.stdin.write('go\n')
    assert.ok(await eventually(() => rounds() === 2, 10000), `100 queries after the restart; stdout: ${run.stdout()} stderr: ${run.stderr()}`)

    run.child.stdin.end()
    const { code, signal } = await run.exited
    assert.equal(signal, null)
    assert.equal(code, 0, `the child exited cleanly; stderr: ${run.stderr()}`)
    assert.doesNotMatch(run.stderr(), /Uncaught|Unhandled/)
  } finally {
    run.child.kill('SIGKILL')
  }
})
