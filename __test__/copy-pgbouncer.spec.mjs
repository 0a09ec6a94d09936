// COPY behind PgBouncer in transaction mode (issues 25 and 26): with `pgbouncer: true` a COPY
// outside a transaction runs in a block of its own, so that the statement tokio-postgres prepares
// for it, and closes, stay on one server connection. Concurrent COPYs in and out through 2 server
// connections load and read what they should, a bad row or a destroyed stream leaves nothing,
// a transaction's COPY rolls back with it, and nothing stays prepared on the server connections.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import pg from 'pg'
import { DatabaseManager, preparedBehindPgBouncer, rejectsWith } from './helpers.mjs'
import { startPgBouncer } from './harness/pgbouncer.mjs'

const SERVER_CONNECTIONS = 2

let bouncer
let ours
let direct

before(async () => {
  const root = dirname(process.env.PGRP_TEST_SOCKET_DIR)
  bouncer = await startPgBouncer({ port: Number(process.env.PGPORT), root }, { poolSize: SERVER_CONNECTIONS })
  direct = new pg.Client()
  await direct.connect()
  await direct.query('DROP TABLE IF EXISTS pgb_copy; CREATE TABLE pgb_copy (k int, n int NOT NULL)')
  ours = new DatabaseManager({ connectionString: bouncer.url, pgbouncer: true, max: 8 })
})

after(async () => {
  await ours?.close()
  await bouncer?.stop()
  await direct?.query('DROP TABLE IF EXISTS pgb_copy')
  await direct?.end()
})

const rows = (k, n) => Array.from({ length: n }, (_, i) => `${k}\t${i}\n`).join('')
const count = async (k) => (await direct.query('SELECT count(*)::int AS n FROM pgb_copy WHERE k = $1', [k])).rows[0].n

async function collect(readable) {
  const chunks = []
  for await (const chunk of readable) chunks.push(chunk)
  return Buffer.concat(chunks).toString()
}

test('concurrent COPYs in and out through two server connections', async () => {
  const loads = Array.from({ length: 6 }, async (_, k) => {
    const writable = ours.copyFrom('COPY pgb_copy FROM STDIN')
    await pipeline(Readable.from([rows(k, 300)]), writable)
    return writable.rowCount
  })
  assert.deepEqual(await Promise.all(loads), Array(6).fill(300))
  const reads = Array.from({ length: 6 }, (_, k) => collect(ours.copyTo(`COPY (SELECT * FROM pgb_copy WHERE k = ${k} ORDER BY n) TO STDOUT`)))
  assert.deepEqual(await Promise.all(reads), Array.from({ length: 6 }, (_, k) => rows(k, 300)))
})

test('a bad row and a destroyed stream leave nothing; a transaction\'s COPY rolls back with it', async () => {
  await rejectsWith(pipeline(Readable.from([`10\t1\n10\tx\n`]), ours.copyFrom('COPY pgb_copy FROM STDIN')), '22P02', /line 2/)
  assert.equal(await count(10), 0)
  const writable = ours.copyFrom('COPY pgb_copy FROM STDIN')
  writable.write(rows(11, 100))
  await new Promise((resolve) => setTimeout(resolve, 50))
  writable.destroy()
  await new Promise((resolve) => writable.on('close', resolve))
  assert.equal(await count(11), 0)
  const failure = new Error('roll back')
  const err = await ours.executeTransaction(async (client) => {
    await pipeline(Readable.from([rows(12, 10)]), client.copyFrom('COPY pgb_copy FROM STDIN'))
    assert.equal((await client.query('SELECT count(*)::int AS n FROM pgb_copy WHERE k = 12')).rows[0].n, 10)
    throw failure
  }).catch((e) => e)
  assert.equal(err, failure)
  assert.equal(await count(12), 0)
  // The pool serves on.
  const writable2 = ours.copyFrom('COPY pgb_copy FROM STDIN')
  await pipeline(Readable.from([rows(13, 5)]), writable2)
  assert.equal(await count(13), 5)
})

test('nothing stays prepared on the server connections', async () => {
  assert.deepEqual(await preparedBehindPgBouncer(bouncer.url, SERVER_CONNECTIONS), Array(SERVER_CONNECTIONS).fill(0))
})
