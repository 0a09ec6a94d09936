// Notices (issue 22: `on('notice')` on pg's clients): the server's NOTICE and WARNING messages
// reach a DatabaseManager's `notice` listeners with the connection's pid, and the `notice` event
// of pg-rust-pool/pg's clients (a pool's and a standalone Client) shaped as pg's, field for field.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import pg from 'pg'
import { DatabaseManager } from './helpers.mjs'

const require = createRequire(import.meta.url)
const facade = require('pg-rust-pool/pg')

const RAISE = "DO $$BEGIN RAISE NOTICE 'hello %', 42 USING DETAIL = 'some detail', HINT = 'a hint'; RAISE WARNING 'careful'; END$$"

/** The first `count` notices `emitter` emits while `run` runs (a timer keeps the process alive meanwhile). */
async function notices(emitter, run, count = 2) {
  const seen = []
  const listener = (notice) => seen.push(notice)
  emitter.on('notice', listener)
  const keepAlive = setTimeout(() => {}, 10000)
  try {
    await run()
    while (seen.length < count) await once(emitter, 'notice')
    return seen.slice(0, count)
  } finally {
    clearTimeout(keepAlive)
    emitter.off('notice', listener)
  }
}

/** pg's notices, for comparison: its NoticeMessage objects as plain objects of their defined fields. */
async function pgNotices() {
  const client = new pg.Client()
  await client.connect()
  try {
    return (await notices(client, () => client.query(RAISE))).map(plain)
  } finally {
    await client.end()
  }
}

function plain(notice) {
  return Object.fromEntries(Object.entries(notice).filter(([k, v]) => v !== undefined && k !== 'length'))
}

test('a DatabaseManager passes the server\'s notices to `notice` listeners with the pid, as pg shapes them', async () => {
  const db = new DatabaseManager({ max: 1 })
  try {
    const infos = []
    db.on('notice', (_, info) => infos.push(info))
    const pid = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    const ours = await notices(db, () => db.query(RAISE))
    assert.deepEqual(ours.map(plain), await pgNotices())
    assert.equal(ours[0].message, 'hello 42')
    assert.equal(ours[0].detail, 'some detail')
    assert.equal(ours[1].severity, 'WARNING')
    assert.ok(infos.every((info) => info.pid === pid), JSON.stringify(infos))
  } finally {
    await db.close()
  }
})

test('a pool\'s client from pg-rust-pool/pg emits its connection\'s notices, as pg\'s does', async () => {
  const pool = new facade.Pool({ max: 2 })
  try {
    const client = await pool.connect()
    try {
      const ours = await notices(client, () => client.query(RAISE))
      assert.deepEqual(ours.map(plain), await pgNotices())
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
})

test('a standalone Client from pg-rust-pool/pg emits notices, and a CREATE … IF NOT EXISTS that skips says so', async () => {
  const client = new facade.Client()
  await client.connect()
  try {
    const [skipped] = await notices(client, () => client.query('CREATE TEMP TABLE IF NOT EXISTS notice_t (a int); CREATE TEMP TABLE IF NOT EXISTS notice_t (a int)'), 1)
    assert.equal(skipped.code, '42P07')
    assert.equal(skipped.severity, 'NOTICE')
    assert.match(skipped.message, /already exists, skipping/)
  } finally {
    await client.end()
  }
})
