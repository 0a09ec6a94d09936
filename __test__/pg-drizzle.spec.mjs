// Drizzle's node-postgres driver runs unchanged on pg-rust-pool/pg's Pool (issue 22): its
// migrator, CRUD, transactions that commit and roll back, a nested transaction (a savepoint),
// and a server error with its SQLSTATE. Drizzle reads timestamp, date and timestamptz through
// per-query `types` as text: under TZ=Europe/Berlin a timestamp must not come back an hour off,
// nor a date a day early (what the issue found with the manager). Drizzle's node-postgres driver
// has no streaming.
process.env.TZ = 'Europe/Berlin'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import { pgTable, serial, text, timestamp, date } from 'drizzle-orm/pg-core'
import { eq, asc } from 'drizzle-orm'
import { until } from './helpers.mjs'

const require = createRequire(import.meta.url)
const { Pool, DatabaseError } = require('pg-rust-pool/pg')

const events = pgTable('drizzle_events', {
  id: serial('id').primaryKey(),
  title: text('title').notNull().unique(),
  at: timestamp('at'),
  day: date('day'),
  stamped: timestamp('stamped', { withTimezone: true, mode: 'string' }),
})

/** A migrations folder as drizzle-kit writes one: the SQL and its journal. */
function migrationsFolder() {
  const folder = mkdtempSync(join(tmpdir(), 'drizzle-migrations-'))
  mkdirSync(join(folder, 'meta'))
  writeFileSync(join(folder, '0000_events.sql'), 'CREATE TABLE drizzle_events (id serial PRIMARY KEY, title text NOT NULL UNIQUE,\n' +
    '  at timestamp, day date, stamped timestamptz);')
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({
    version: '7', dialect: 'postgresql',
    entries: [{ idx: 0, version: '7', when: 1700000000000, tag: '0000_events', breakpoints: true }],
  }))
  return folder
}

test('Drizzle: migration, CRUD, dates under TZ=Europe/Berlin, transactions, savepoints and errors', async () => {
  const pool = new Pool({ max: 3 })
  const db = drizzle({ client: pool })
  const folder = migrationsFolder()
  try {
    await migrate(db, { migrationsFolder: folder })
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).rows[0].n, 1)

    const [created] = await db.insert(events).values({
      title: 'launch', at: new Date('2024-01-15T10:00:00Z'), day: '2024-01-15', stamped: '2024-01-15 10:00:00+01',
    }).returning()
    const [row] = await db.select().from(events).where(eq(events.id, created.id))
    for (const r of [created, row]) {
      assert.equal(r.at.toISOString(), '2024-01-15T10:00:00.000Z', 'a timestamp is read as UTC, as Drizzle wrote it')
      assert.equal(r.day, '2024-01-15', 'a date is the server\'s text')
      assert.equal(typeof r.stamped, 'string')
      assert.equal(new Date(r.stamped).toISOString(), '2024-01-15T09:00:00.000Z')
    }
    // The server agrees on what was stored.
    const stored = await pool.query("SELECT at::text, day::text FROM drizzle_events WHERE title = 'launch'")
    assert.deepEqual(stored.rows[0], { at: '2024-01-15 10:00:00', day: '2024-01-15' })

    await db.update(events).set({ title: 'launch day' }).where(eq(events.id, created.id))

    await db.transaction(async (tx) => {
      await tx.insert(events).values({ title: 'committed' })
      // A nested transaction is a savepoint: its rollback keeps the outer insert.
      await assert.rejects(tx.transaction(async (inner) => {
        await inner.insert(events).values({ title: 'inner, rolled back' })
        inner.rollback()
      }), /Rollback/)
    })
    await assert.rejects(db.transaction(async (tx) => {
      await tx.insert(events).values({ title: 'rolled back' })
      tx.rollback()
    }), /Rollback/)
    const titles = (await db.select({ title: events.title }).from(events).orderBy(asc(events.id))).map((r) => r.title)
    assert.deepEqual(titles, ['launch day', 'committed'])

    await db.delete(events).where(eq(events.title, 'committed'))
    assert.equal((await db.select().from(events)).length, 1)

    await assert.rejects(db.insert(events).values({ title: 'launch day' }), (e) => {
      assert.ok(e.cause instanceof DatabaseError, `Drizzle wraps the driver's error: ${e}`)
      assert.deepEqual([e.cause.code, e.cause.constraint], ['23505', 'drizzle_events_title_key'])
      return true
    })
    await until(() => pool.totalCount === pool.idleCount, { what: 'every client released' })
  } finally {
    rmSync(folder, { recursive: true, force: true })
    await pool.end()
  }
})
