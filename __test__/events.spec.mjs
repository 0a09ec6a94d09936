// Acceptance (issue 5, point 6): the manager's events report every change exactly, and a listener
// that throws does not break the pool. (That events cost nothing without listeners is a
// benchmark, not a test.) The `error` event is exercised in dead-connections.spec.mjs, the
// `remove` reasons idle, lifetime and maxUses in pool-sizing and pool-retirement; `destroyed`
// needs getClient(), which does not exist yet.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseManager, observer, uniqueName, eventually } from './helpers.mjs'

const NAMES = ['connect', 'acquire', 'release', 'remove', 'error']

/** Records every event of `db` as [name, ...args] in arrival order. */
function record(db) {
  const seen = []
  for (const name of NAMES) db.on(name, (...args) => seen.push([name, ...args]))
  return seen
}

test('max: 1 and 10 sequential queries: 1 connect, 10 acquire, 10 release; close(): 1 remove (closed)', async () => {
  const db = new DatabaseManager({ max: 1, applicationName: uniqueName('events') })
  const seen = record(db)
  const pids = []
  for (let i = 0; i < 10; i++) pids.push((await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid)
  await db.close() // resolves once every event has reached the listeners
  const [pid] = pids
  assert.ok(pids.every((p) => p === pid))
  const expected = [
    ['connect', { pid }],
    ...Array.from({ length: 10 }, () => [['acquire', { pid }], ['release', { pid }]]).flat(),
    ['remove', { pid, reason: 'closed' }],
  ]
  assert.deepEqual(seen, expected)
})

test('listeners that throw do not break the pool; each exception is reported as a warning', async (t) => {
  const applicationName = uniqueName('events-throw')
  const db = new DatabaseManager({ max: 2, applicationName })
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const calls = Object.fromEntries(NAMES.map((n) => [n, 0]))
  for (const name of NAMES) {
    db.on(name, () => {
      calls[name] += 1
      throw new Error(`listener of ${name} throws`)
    })
  }
  const client = await observer()
  try {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => db.query('SELECT $1::int AS i', [i])))
    results.forEach((r, i) => assert.deepEqual(r.rows, [{ i }]))

    // An idle connection dies: the `error` listener throws too.
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    assert.ok(await eventually(() => calls.error > 0), 'the error listener was called')
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool still serves queries')
  } finally {
    await db.close()
    await client.end()
  }
  for (const name of NAMES) assert.ok(calls[name] > 0, `${name} listener called`)
  for (const name of NAMES) {
    assert.ok(warnings.some((w) => w.name === 'PgRustPoolWarning' && w.message.includes(`'${name}' listener threw`) && w.message.includes(`listener of ${name} throws`)),
      `a warning names the throwing ${name} listener`)
  }
})

test('a removed listener is called no more', async () => {
  const db = new DatabaseManager({ max: 1, applicationName: uniqueName('events-off') })
  let calls = 0
  const listener = () => { calls += 1 }
  db.on('acquire', listener)
  await db.query('SELECT 1')
  await db.query('SELECT 1')
  assert.ok(await eventually(() => calls === 2))
  db.off('acquire', listener)
  await db.query('SELECT 1')
  await db.close()
  assert.equal(calls, 2)
})
