// Acceptance (issue 4, point 3): concurrent transactions keep their invariants. 200 transfers
// between 10 accounts with SELECT … FOR UPDATE on max: 10 keep the total; 100 read-modify-write
// increments under serializable with retries: 10 end at exactly +100.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withManager } from './helpers.mjs'

test('200 concurrent transfers between 10 accounts keep the total balance', async () => {
  await withManager({ max: 10, connectionTimeoutMillis: 30000 }, async (db) => {
    await db.query('DROP TABLE IF EXISTS cc_accounts; CREATE TABLE cc_accounts (id int PRIMARY KEY, balance int NOT NULL)')
    await db.query('INSERT INTO cc_accounts SELECT g, 1000 FROM generate_series(1, 10) g')
    const transfers = Array.from({ length: 200 }, (_, i) => {
      const from = (i % 10) + 1
      const to = ((i * 7 + 3) % 10) + 1
      return db.executeTransaction(async (client) => {
        // Lock both rows in id order, so transfers in opposite directions cannot deadlock.
        const r = await client.query('SELECT id, balance FROM cc_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE', [[from, to]])
        const balance = r.rows.find((row) => row.id === from).balance
        const amount = (i % 50) + 1
        if (from === to || balance < amount) return 0
        await client.query('UPDATE cc_accounts SET balance = balance - $2 WHERE id = $1', [from, amount])
        await client.query('UPDATE cc_accounts SET balance = balance + $2 WHERE id = $1', [to, amount])
        return amount
      })
    })
    const moved = await Promise.all(transfers)
    assert.ok(moved.filter((m) => m > 0).length > 100, 'most transfers moved money')
    const r = await db.query('SELECT sum(balance)::int AS total, min(balance) AS low FROM cc_accounts')
    assert.equal(r.rows[0].total, 10000)
    assert.ok(r.rows[0].low >= 0)
    await db.query('DROP TABLE cc_accounts')
  })
})

test('100 serializable read-modify-write increments with retries: 10 end at exactly +100', async () => {
  await withManager({ max: 10, connectionTimeoutMillis: 30000 }, async (db) => {
    await db.query('DROP TABLE IF EXISTS cc_counter; CREATE TABLE cc_counter (id int PRIMARY KEY, n int NOT NULL)')
    await db.query('INSERT INTO cc_counter VALUES (1, 0)')
    let attempts = 0
    const increments = Array.from({ length: 100 }, () => db.executeTransaction(async (client) => {
      attempts += 1
      const { rows } = await client.query('SELECT n FROM cc_counter WHERE id = 1')
      await client.query('UPDATE cc_counter SET n = $1 WHERE id = 1', [rows[0].n + 1])
    }, { isolationLevel: 'serializable', retries: 10 }))
    await Promise.all(increments)
    const r = await db.query('SELECT n FROM cc_counter WHERE id = 1')
    assert.equal(r.rows[0].n, 100)
    assert.ok(attempts > 100, `conflicts happened and were retried (${attempts} attempts)`)
    await db.query('DROP TABLE cc_counter')
  })
})
