// Type parsers of pg-rust-pool/pg (issue 22): `types.setTypeParser` applies to this module's pools
// and not to the real pg (nor pg's to it); per-query `types` (as Drizzle passes them) and a
// pool's `types` reach columns the server sends as text and those the engine decodes; a
// manager's query takes per-query `types` too; `defaults.parseInt8` as TypeORM sets it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import realPg from 'pg'
import { DatabaseManager } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool, types, defaults, escapeIdentifier, escapeLiteral } = require('pg-rust-pool/pg')

const NUMERIC = 1700
const INT4 = 23
const raw = { getTypeParser: () => (text) => `raw ${text}` }

test('setTypeParser here applies to this module\'s pools only, and pg\'s only to pg', async () => {
  const ours = new Pool()
  const theirs = new realPg.Pool()
  try {
    types.setTypeParser(NUMERIC, (text) => Number(text))
    realPg.types.setTypeParser(INT4, (text) => `pg ${text}`)
    assert.deepEqual((await ours.query('SELECT 1.5::numeric AS n, 2::int4 AS i')).rows, [{ n: 1.5, i: 2 }])
    assert.deepEqual((await theirs.query('SELECT 1.5::numeric AS n, 2::int4 AS i')).rows, [{ n: '1.5', i: 'pg 2' }])
    // Set after the pool was made, for a type the server sends as text, it applies at once.
    types.setTypeParser(1082, (text) => `day ${text}`)
    assert.deepEqual((await ours.query("SELECT '2024-01-15'::date AS d")).rows, [{ d: 'day 2024-01-15' }])
  } finally {
    types.setTypeParser(NUMERIC, types.getTypeParser(0))
    types.setTypeParser(1082, realPg.types.getTypeParser(1082))
    realPg.types.setTypeParser(INT4, types.getTypeParser(INT4))
    await ours.end()
    await theirs.end()
  }
})

test('per-query and per-pool types reach text columns and decoded ones (int4, bool, bytea, timestamptz)', async () => {
  const sql = "SELECT 1.5::numeric AS n, 7 AS i, true AS b, '\\x0102'::bytea AS bytes, timestamptz '2024-01-15 10:00:00+00' AS at, NULL::int AS none"
  const expected = { n: 'raw 1.5', i: 'raw 7', b: 'raw t', bytes: 'raw \\x0102', at: 'raw 2024-01-15 10:00:00.000+00', none: null }
  const pool = new Pool()
  const pooled = new Pool({ types: raw })
  try {
    assert.deepEqual((await pool.query({ text: sql, types: raw })).rows, [expected])
    assert.deepEqual((await pooled.query(sql)).rows, [expected])
    const client = await pool.connect()
    try {
      assert.deepEqual((await client.query({ text: sql, types: raw, rowMode: 'array' })).rows, [Object.values(expected)])
      // Without types, the defaults.
      const { rows: [row] } = await client.query(sql)
      assert.deepEqual([row.n, row.i, row.b, row.at.toISOString()], ['1.5', 7, true, '2024-01-15T10:00:00.000Z'])
    } finally {
      client.release()
    }
    const db = new DatabaseManager()
    try {
      assert.deepEqual((await db.query({ text: sql, types: raw })).rows, [expected], 'the manager takes per-query types too')
    } finally {
      await db.close()
    }
  } finally {
    await pool.end()
    await pooled.end()
  }
})

test('defaults.parseInt8 = true gives int8 as numbers, false as strings again', async () => {
  const pool = new Pool()
  try {
    defaults.parseInt8 = true
    assert.deepEqual((await pool.query('SELECT 5::int8 AS n, ARRAY[1, 2]::int8[] AS a')).rows, [{ n: 5, a: [1, 2] }])
    defaults.parseInt8 = false
    assert.deepEqual((await pool.query('SELECT 5::int8 AS n, ARRAY[1, 2]::int8[] AS a')).rows, [{ n: '5', a: ['1', '2'] }])
  } finally {
    await pool.end()
  }
})

test('escapeIdentifier and escapeLiteral make SQL the server reads back as the same text', async () => {
  const pool = new Pool()
  try {
    for (const text of ['plain', "it's", 'back\\slash', 'quote " and \' and \\', '']) {
      const { rows } = await pool.query(`SELECT ${escapeLiteral(text)}::text AS ${escapeIdentifier(text || 'x"y')}`)
      assert.deepEqual(rows, [{ [text || 'x"y']: text }])
    }
    const client = await pool.connect()
    assert.equal(client.escapeIdentifier('a"b'), '"a""b"')
    assert.equal(client.escapeLiteral('a\\b'), " E'a\\\\b'")
    client.release()
  } finally {
    await pool.end()
  }
})
