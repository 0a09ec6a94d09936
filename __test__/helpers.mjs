// Shared by the specs: the package under test and a plain node-postgres connection for looking
// at the server from the outside (pg_stat_activity, pg_prepared_statements).
import { createRequire } from 'node:module'
import pg from 'pg'

const require = createRequire(import.meta.url)
export const { DatabaseManager, DatabaseError, LeakWarning } = require('..')

let counter = 0
/** An application_name unique to this test, to find its backends in pg_stat_activity. */
export function uniqueName(prefix = 'spec') {
  counter += 1
  return `${prefix}-${process.pid}-${counter}`
}

/** A node-postgres client for observing the server; close it with `end()`. */
export async function observer() {
  const client = new pg.Client()
  await client.connect()
  return client
}

/** Number of server backends with this application_name. */
export async function backends(client, applicationName) {
  const r = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  return r.rows[0].n
}

/** Runs fn with a fresh manager and always closes it. */
export async function withManager(options, fn) {
  const db = new DatabaseManager(options)
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/** Polls `check` until it returns true (a closed connection's backend exits a moment later). */
export async function eventually(check, { timeoutMs = 3000, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
