// Acceptance (issue 5, point 1): `min` and `max` bound the pool's connections as the server sees
// them. initialize() opens `min`; a burst grows the pool to `max` and no further; once the burst is
// over, `idleTimeoutMillis` closes the extra connections and maintenance never goes below `min`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { observed, backends, backendPids, eventually, refusesConfig, sleep } from './helpers.mjs'

/** Samples the backend count of `applicationName` every few ms until stop() resolves. */
function sampler(client, applicationName) {
  const counts = []
  let running = true
  const loop = (async () => {
    while (running) {
      counts.push(await backends(client, applicationName))
      await sleep(10)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return counts
    },
  }
}

test('min: 3, max: 5: 3 backends after initialize(), at most 5 in a burst, back to 3 and never below', async () => {
  await observed('pool-sizing', { min: 3, max: 5, idleTimeoutMillis: 500 }, async ({ db, client, applicationName }) => {
    const removed = []
    db.on('remove', (event) => removed.push(event))
    await db.initialize()
    assert.equal(await backends(client, applicationName), 3, 'initialize() opens `min` connections')

    const during = sampler(client, applicationName)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => db.query('SELECT $1::int AS i, pg_sleep(0.02)::text AS s', [i])),
    )
    results.forEach((r, i) => assert.deepEqual(r.rows, [{ i, s: '' }]))
    const burst = await during.stop()
    assert.ok(Math.max(...burst) <= 5, `at most max (5) backends during the burst; saw ${Math.max(...burst)}`)
    assert.equal(Math.max(...burst), 5, 'a burst of 50 slow queries grows the pool to max')
    assert.ok(Math.min(...burst) >= 3, `never below min (3) during the burst; saw ${Math.min(...burst)}`)

    // Idle connections above min go after 500 ms (maintenance runs every 100 ms): watch the count
    // come back to 3 (in 5 s at most, for a loaded machine), then 1 s more, two idle timeouts,
    // that it never drops below it.
    const after = sampler(client, applicationName)
    const back = await eventually(async () => (await backends(client, applicationName)) === 3 && removed.length === 2)
    await sleep(1000)
    const settled = await after.stop()
    assert.ok(back, `back to min (3) after the idle timeout; samples ${settled.join(',')}`)
    assert.ok(Math.min(...settled) >= 3, `never below min (3); samples ${settled.join(',')}`)
    assert.equal(settled.at(-1), 3, `still at min (3); samples ${settled.join(',')}`)
    assert.deepEqual(removed.map((e) => e.reason), ['idle', 'idle'], 'the two extra connections left as idle')

    // The pool still serves queries from the connections it kept.
    assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  })
})

test('maintenance replaces a `min` connection that the server ended', async () => {
  await observed('pool-sizing-refill', { min: 2, max: 4 }, async ({ db, client, applicationName }) => {
    const connected = []
    db.on('connect', ({ pid }) => connected.push(pid))
    db.on('error', () => {}) // the idle connection's death is expected here
    await db.initialize()
    assert.equal(await backends(client, applicationName), 2)
    const [victim] = connected
    await client.query('SELECT pg_terminate_backend($1)', [victim])
    const refilled = await eventually(async () => connected.length === 3 && (await backends(client, applicationName)) === 2)
    assert.ok(refilled, `one new connection replaces the ended one; connects: ${connected}`)
    const pids = await backendPids(client, applicationName)
    assert.equal(pids.length, 2)
    assert.ok(!pids.includes(victim), 'the ended backend is not counted any more')
  })
})

test('idleTimeoutMillis: 0 keeps idle connections above min', async () => {
  await observed('pool-sizing-keep', { min: 0, max: 3, idleTimeoutMillis: 0 }, async ({ db, client, applicationName }) => {
    await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.05)')))
    assert.equal(await backends(client, applicationName), 3)
    await sleep(1000)
    assert.equal(await backends(client, applicationName), 3, '0 means never close idle connections')
  })
})

test('min and max must be whole numbers with min ≤ max (INVALID_CONFIG naming the option)', () => {
  refusesConfig({ min: 6, max: 5 }, /`min` \(6\) must not be greater than `max` \(5\)/)
  refusesConfig({ min: 1.5 }, /`min`/)
  refusesConfig({ min: -1 }, /`min`/)
  refusesConfig({ max: 2.5 }, /`max`/)
  refusesConfig({ min: '3' }, /`min` must be a number/)
  refusesConfig({ idleTimeoutMillis: -1 }, /`idleTimeoutMillis`/)
})
