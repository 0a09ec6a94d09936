// Acceptance: 1,000 concurrent queries on max: 10 all resolve correctly, and the server never
// sees more than 10 backends of this manager.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager, uniqueName, observer, backends } from './helpers.mjs'

test('1,000 concurrent queries through max: 10 connections', async () => {
  const applicationName = uniqueName('concurrency')
  const client = await observer()
  let peak = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await backends(client, applicationName))
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  try {
    await withManager({ max: 10, applicationName }, async (db) => {
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => db.query('SELECT $1::int AS i, pg_sleep(0.001)::text AS s', [i])),
      )
      results.forEach((r, i) => assert.deepEqual(r.rows, [{ i, s: '' }]))
      peak = Math.max(peak, await backends(client, applicationName))
    })
  } finally {
    sampling = false
    await sampler
    await client.end()
  }
  assert.ok(peak > 0, 'the sampler saw the manager\'s backends')
  assert.ok(peak <= 10, `saw ${peak} backends`)
})
