// Acceptance (issue 5, point 2): connections are retired, never reused past their welcome:
// `maxLifetimeSeconds` replaces every connection soon after its lifetime, `maxUses` after that
// many queries; either way no query fails, and the replacement is a new server backend.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { observed, backendPids, eventually, refusesConfig } from './helpers.mjs'

test('maxLifetimeSeconds: 1 replaces every connection within about 2 s of use, with no failed query', async () => {
  await observed('retire-lifetime', { max: 3, maxLifetimeSeconds: 1 }, async ({ db, client, applicationName }) => {
    const removed = []
    db.on('remove', (event) => removed.push(event))
    const start = Date.now()
    const runs = [] // { at, pid } of each query, `at` in ms since start when it was sent
    const failures = []
    // Three workers keep all connections in use for 2.5 s.
    const worker = async () => {
      while (Date.now() - start < 2500) {
        const at = Date.now() - start
        try {
          const r = await db.query('SELECT pg_backend_pid() AS pid, pg_sleep(0.01)::text AS s')
          runs.push({ at, pid: r.rows[0].pid })
        } catch (e) {
          failures.push(e)
        }
      }
    }
    await Promise.all([worker(), worker(), worker()])
    assert.deepEqual(failures, [], 'no query failed while connections were retired')

    const first = new Set(runs.filter((r) => r.at < 500).map((r) => r.pid))
    assert.ok(first.size > 0)
    const late = runs.filter((r) => r.at >= 2000)
    assert.ok(late.length > 0, 'queries ran after 2 s')
    const stale = late.filter((r) => first.has(r.pid))
    assert.deepEqual(stale, [], `no query 2 s in runs on a first connection (${[...first]})`)
    for (const pid of first) {
      assert.ok(removed.some((e) => e.pid === pid && e.reason === 'lifetime'), `connection ${pid} was removed for its lifetime; removes: ${JSON.stringify(removed)}`)
    }
    const gone = await eventually(async () => (await backendPids(client, applicationName)).every((pid) => !first.has(pid)), 2000)
    assert.ok(gone, 'the retired backends are gone from the server')
  })
})

test('maxUses: 5 with max: 1 gives a new backend after 5 queries', async () => {
  await observed('retire-uses', { max: 1, maxUses: 5 }, async ({ db, client, applicationName }) => {
    const removed = []
    db.on('remove', (event) => removed.push(event))
    const pids = []
    for (let i = 0; i < 10; i++) pids.push((await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid)
    const [a, b] = [pids[0], pids[5]]
    assert.notEqual(a, b, 'the sixth query runs on another backend')
    assert.deepEqual(pids, [a, a, a, a, a, b, b, b, b, b])
    const gone = await eventually(async () => !(await backendPids(client, applicationName)).includes(a), 2000)
    assert.ok(gone, 'the retired backend is gone from the server')
    // The second connection reached 5 uses with the tenth query and went too; close() resolves
    // once every event has reached the listeners.
    await db.close()
    assert.deepEqual(removed, [{ pid: a, reason: 'maxUses' }, { pid: b, reason: 'maxUses' }])
  })
})

test('maxUses and maxLifetimeSeconds must be whole numbers ≥ 0 (INVALID_CONFIG naming the option)', () => {
  refusesConfig({ maxUses: -1 }, /`maxUses`/)
  refusesConfig({ maxUses: 2.5 }, /`maxUses`/)
  refusesConfig({ maxLifetimeSeconds: -1 }, /`maxLifetimeSeconds`/)
  refusesConfig({ maxLifetimeSeconds: 'forever' }, /`maxLifetimeSeconds` must be a number/)
})
