// Type fidelity, the acceptance test of the type mapping: one corpus of SQL runs through
// node-postgres and through pg-rust-pool, and every result must be the same: `rows`, `rowCount`,
// `command` and `fields`. Each value is selected as a literal and sent in as a parameter, also
// after session settings that change how the server writes values.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import pg from 'pg'
import { SESSION, LITERALS, PARAMETERS, ERRORS, SCHEMA, DROP_SCHEMA } from './fixtures/differential-corpus.mjs'

const require = createRequire(import.meta.url)
const { DatabaseManager } = require('..')

let ours
let theirs

before(async () => {
  // One connection a side, so a SET in one case is seen by the same session on both sides.
  theirs = new pg.Pool({ max: 1 })
  await theirs.query(SCHEMA)
  ours = new DatabaseManager({ max: 1 })
})

after(async () => {
  await theirs.query(DROP_SCHEMA)
  await theirs.end()
  await ours.close()
})

/** The parts of a result both libraries must agree on; fields as plain objects. */
function shape(result) {
  if (Array.isArray(result)) return result.map(shape)
  return {
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields.map((f) => ({ ...f })),
    rows: result.rows,
  }
}

async function both(sql, values) {
  // Sequential, not concurrent: the sides share the server's catalog but nothing else.
  const a = shape(await ours.query(sql, values))
  const b = shape(await theirs.query(sql, values))
  return [a, b]
}

for (const [name, sql, values] of [...LITERALS, ...PARAMETERS]) {
  test(name, async () => {
    const [a, b] = await both(sql, values)
    assert.deepStrictEqual(a, b)
  })
}

for (const [name, sql, values] of ERRORS) {
  test(`error: ${name}`, async () => {
    const a = await ours.query(sql, values).then(() => null, (e) => e)
    const b = await theirs.query(sql, values).then(() => null, (e) => e)
    assert.ok(a && b, 'both sides reject')
    assert.deepStrictEqual({ code: a.code, message: a.message }, { code: b.code, message: b.message })
  })
}

for (const [name, setting, sql] of SESSION) {
  test(`after ${setting}`, async () => {
    await ours.query(setting)
    await theirs.query(setting)
    try {
      const [a, b] = await both(sql)
      assert.deepStrictEqual(a, b, name)
    } finally {
      await ours.query('RESET ALL')
      await theirs.query('RESET ALL')
    }
  })
}
