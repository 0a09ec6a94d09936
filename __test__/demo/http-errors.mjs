// The demo's errors as HTTP answers. A client is told what it can act on: its input cannot be
// stored (400), it conflicts with what is stored (409), the database cannot be reached now and the
// request may be retried (503); of anything else only that the service failed (500). The server's
// message, SQL and stack never leave: the caller logs the 5xx ones.
import { createRequire } from 'node:module'
import { STATUS_CODES } from 'node:http'

const require = createRequire(import.meta.url)
// The same class whether the routes use DatabaseManager or pg-rust-pool/pg.
const { DatabaseError } = require('../..')

/** pg-rust-pool's client codes (README, Errors) that mean the database cannot serve now. */
const UNAVAILABLE = new Set([
  'DATABASE_UNAVAILABLE', 'POOL_TIMEOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ERROR',
  'POOL_CLOSED', // the service is shutting down
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', 'EAI_AGAIN',
])

/** The HTTP status for a DatabaseError's `code` (a SQLSTATE or a client code). */
export function statusOf(code) {
  if (code === '23505' || code === '23P01') return 409 // unique, exclusion violation
  if (code === 'INVALID_ARGUMENT' || code.startsWith('22')) return 400 // data exception: NUL, bad text, out of range
  if (code === '23502' || code === '23514') return 400 // not-null, check violation
  if (UNAVAILABLE.has(code) || code.startsWith('08')) return 503 // 08: connection exception
  if (code === '57P01' || code === '57P02' || code === '57P03') return 503 // server shutting down or starting
  if (code === '53300') return 503 // too many connections
  return 500
}

const ANSWERS = {
  400: { error: 'a value in the request cannot be stored', code: 'INVALID_INPUT' },
  409: { error: 'conflicts with an existing record', code: 'CONFLICT' },
  500: { error: 'internal error', code: 'INTERNAL_ERROR' },
  503: { error: 'the database is unavailable; try again later', code: 'UNAVAILABLE' },
}

/** Answers naming the demo's own constraints, where the generic one would leave the client guessing. */
const CONSTRAINTS = {
  demo_users_email_key: 'a user with this email already exists',
}

/**
 * { status, body } for `err`: a DatabaseError by its code; an HTTP error that Express or its body
 * parser marked as safe to show (`expose`, e.g. a malformed JSON body) as it is; anything else 500.
 */
export function httpError(err) {
  if (err instanceof DatabaseError) {
    const status = statusOf(err.code ?? '')
    const message = status < 500 ? CONSTRAINTS[err.constraint] : undefined
    return { status, body: message ? { ...ANSWERS[status], error: message } : ANSWERS[status] }
  }
  if (err?.expose && err.status >= 400 && err.status < 500) {
    const code = err.status === 400 ? 'INVALID_INPUT' : STATUS_CODES[err.status].toUpperCase().replace(/\W+/g, '_')
    return { status: err.status, body: { error: err.message, code } }
  }
  return { status: 500, body: ANSWERS[500] }
}
