// knex's `pg` client runs on pg-rust-pool/pg (issue 22), both ways knex can take it: a Pool as
// its `connectionPool`, and, with knex's own pool, this module as the driver whose Client it
// opens per connection. A schema migration, CRUD, transactions that commit and roll back, a
// nested transaction (a savepoint), streaming (pg-query-stream, issue 26), a
// cancelled query, and a server error with its SQLSTATE.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import knex from 'knex'
import { until } from './helpers.mjs'

const require = createRequire(import.meta.url)
const pg = require('pg-rust-pool/pg')
const KnexPg = require('knex/lib/dialects/postgres')

/** knex's pg client with this module as its driver (`new driver.Client(connection)` per connection). */
class KnexPgRustPool extends KnexPg {
  _driver() {
    return pg
  }
}

async function crud(db, table) {
  await db.schema.createTable(table, (t) => {
    t.increments('id')
    t.text('name').notNullable().unique()
    t.integer('stock').notNullable().defaultTo(0)
  })
  const [{ id }] = await db(table).insert({ name: 'book', stock: 3 }).returning('id')
  assert.equal(await db(table).where({ id }).update({ stock: 4 }), 1)
  assert.deepEqual(await db(table).first('name', 'stock').where({ id }), { name: 'book', stock: 4 })

  await db.transaction(async (trx) => {
    await trx(table).insert({ name: 'pen' })
    // A nested transaction is a savepoint: its failure rolls back only what it did.
    await assert.rejects(trx.transaction(async (inner) => {
      await inner(table).insert({ name: 'ink' })
      throw new Error('no ink')
    }), /no ink/)
  })
  await assert.rejects(db.transaction(async (trx) => {
    await trx(table).insert({ name: 'lamp' })
    throw new Error('no lamp')
  }), /no lamp/)
  assert.deepEqual(await db(table).orderBy('id').pluck('name'), ['book', 'pen'])
  assert.equal(await db(table).where({ name: 'pen' }).del(), 1)

  await assert.rejects(db(table).insert({ name: 'book' }), (e) => {
    assert.ok(e instanceof pg.DatabaseError)
    assert.deepEqual([e.code, e.constraint], ['23505', `${table}_name_unique`])
    return true
  })
  const streamed = []
  await pipeline(db(table).select('name').orderBy('id').stream(), new Writable({ objectMode: true, write: (row, _, done) => { streamed.push(row.name); done() } }))
  assert.deepEqual(streamed, ['book'])
}

test('knex with a pg-rust-pool/pg Pool as its connectionPool', async () => {
  const pool = new pg.Pool({ max: 3 })
  const db = knex({ client: 'pg', connectionPool: pool })
  try {
    await crud(db, 'knex_pool_items')
    await until(() => pool.totalCount === pool.idleCount, { what: 'every client released' })
  } finally {
    await db.destroy()
    await pool.end()
  }
})

test('knex with its own pool and pg-rust-pool/pg as its driver; a timed-out query is cancelled', async () => {
  const db = knex({ client: KnexPgRustPool, connection: {}, pool: { min: 0, max: 2 } })
  try {
    await crud(db, 'knex_driver_items')
    await assert.rejects(db.raw('SELECT pg_sleep(5)').timeout(100, { cancel: true }), (e) => e.name === 'KnexTimeoutError')
    // knex cancelled it with pg_cancel_backend(processID) from a connection of its own.
    await until(async () => (await db.raw("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)'")).rows[0].n === 0,
      { what: 'the cancelled statement ended' })
    assert.deepEqual((await db.raw('SELECT 1 AS one')).rows, [{ one: 1 }])
  } finally {
    await db.destroy()
  }
})
