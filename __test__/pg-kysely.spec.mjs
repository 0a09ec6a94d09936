// Kysely's PostgresDialect runs unchanged on pg-rust-pool/pg's Pool (issue 22): a schema
// migration, CRUD, transactions that commit and roll back, savepoints, streaming (pg-cursor,
// issue 26) and a server error with its SQLSTATE.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { Kysely, PostgresDialect, Migrator, sql } from 'kysely'
import Cursor from 'pg-cursor'

const require = createRequire(import.meta.url)
const { Pool, DatabaseError } = require('pg-rust-pool/pg')

/** Migrations as Kysely's Migrator takes them, from an object rather than a folder. */
const migrations = {
  async getMigrations() {
    return {
      '001_people': {
        async up(db) {
          await db.schema.createTable('kysely_people')
            .addColumn('id', 'serial', (c) => c.primaryKey())
            .addColumn('name', 'text', (c) => c.notNull().unique())
            .addColumn('born', 'date')
            .execute()
        },
        async down(db) {
          await db.schema.dropTable('kysely_people').execute()
        },
      },
    }
  },
}

test('Kysely: migration, CRUD, transactions, savepoints, streaming and errors', async () => {
  const db = new Kysely({ dialect: new PostgresDialect({ pool: new Pool({ max: 3 }), cursor: Cursor }) })
  try {
    const { error, results } = await new Migrator({ db, provider: migrations }).migrateToLatest()
    assert.equal(error, undefined)
    assert.deepEqual(results.map((r) => [r.migrationName, r.status]), [['001_people', 'Success']])

    const { id } = await db.insertInto('kysely_people').values({ name: 'Ada', born: '1815-12-10' }).returning('id').executeTakeFirstOrThrow()
    const ada = await db.selectFrom('kysely_people').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
    assert.equal(ada.name, 'Ada')
    assert.ok(ada.born instanceof Date)
    const updated = await db.updateTable('kysely_people').set({ name: 'Ada Lovelace' }).where('id', '=', id).executeTakeFirst()
    assert.equal(updated.numUpdatedRows, 1n)

    await db.transaction().execute(async (trx) => {
      await trx.insertInto('kysely_people').values({ name: 'Alan' }).execute()
    })
    await assert.rejects(db.transaction().execute(async (trx) => {
      await trx.insertInto('kysely_people').values({ name: 'Grace' }).execute()
      throw new Error('changed my mind')
    }), /changed my mind/)

    // A controlled transaction with a savepoint rolled back: only the outer insert stays.
    const trx = await db.startTransaction().execute()
    await trx.insertInto('kysely_people').values({ name: 'Edsger' }).execute()
    const inner = await trx.savepoint('sp').execute()
    await inner.insertInto('kysely_people').values({ name: 'Barbara' }).execute()
    await inner.rollbackToSavepoint('sp').execute()
    await inner.commit().execute()

    const names = (await db.selectFrom('kysely_people').select('name').orderBy('id').execute()).map((r) => r.name)
    assert.deepEqual(names, ['Ada Lovelace', 'Alan', 'Edsger'])

    const deleted = await db.deleteFrom('kysely_people').where('name', '=', 'Alan').executeTakeFirst()
    assert.equal(deleted.numDeletedRows, 1n)

    const streamed = []
    for await (const row of db.selectFrom('kysely_people').select('name').orderBy('id').stream(1)) streamed.push(row.name)
    assert.deepEqual(streamed, ['Ada Lovelace', 'Edsger'])

    await assert.rejects(db.insertInto('kysely_people').values({ name: 'Ada Lovelace' }).execute(), (e) => {
      assert.ok(e instanceof DatabaseError)
      assert.deepEqual([e.code, e.constraint, e.table], ['23505', 'kysely_people_name_key', 'kysely_people'])
      return true
    })
    // Every connection came back through all of this.
    assert.equal((await sql`SELECT count(*)::int AS n FROM kysely_people`.execute(db)).rows[0].n, 2)
  } finally {
    await db.destroy()
  }
})
