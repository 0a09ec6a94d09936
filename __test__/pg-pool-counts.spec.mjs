// totalCount, idleCount and waitingCount of pg-rust-pool/pg's Pool during a burst (issue 22):
// more checkouts than `max` wait, and the counts say so until each is served and released.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { until } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool } = require('pg-rust-pool/pg')

const counts = (pool) => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })

test('counts during a burst of six checkouts on a pool of two', async () => {
  const pool = new Pool({ max: 2 })
  try {
    assert.deepEqual(counts(pool), { total: 0, idle: 0, waiting: 0 })
    assert.equal(pool.expiredCount, 0)
    const held = []
    const burst = Array.from({ length: 6 }, () => pool.connect().then((client) => {
      held.push(client)
      return client
    }))
    await until(() => held.length === 2 && pool.waitingCount === 4, { what: 'two served and four waiting' })
    assert.deepEqual(counts(pool), { total: 2, idle: 0, waiting: 4 })
    for (let served = 2; served < 6; served++) {
      held[served - 2].release()
      await until(() => held.length === served + 1, { what: `checkout ${served + 1} served` })
      assert.deepEqual(counts(pool), { total: 2, idle: 0, waiting: 5 - served })
    }
    for (const client of held.slice(4)) client.release()
    await until(() => pool.idleCount === 2, { what: 'both connections idle' })
    assert.deepEqual(counts(pool), { total: 2, idle: 2, waiting: 0 })
    await Promise.all(burst)
  } finally {
    await pool.end()
  }
})
