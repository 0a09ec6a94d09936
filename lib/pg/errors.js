'use strict'
// Errors as node-postgres and pg-pool word them, where code written for `pg` looks at the message:
// the same DatabaseError, same `code`, with pg's message and the package's own as its `cause`.

const { DatabaseError, clientError } = require('../errors')

const PG_MESSAGES = {
  CLIENT_RELEASED: 'Client was closed and is not queryable',
  POOL_CLOSED: 'Cannot use a pool after calling end on the pool',
  POOL_TIMEOUT: 'timeout exceeded when trying to connect',
  QUERY_TIMEOUT: 'Query read timeout',
  CONNECTION_CLOSED: 'Connection terminated unexpectedly',
}

/** A DatabaseError with `code` and pg's message for it, caused by `cause`, with `cause`'s stack. */
function pgError(code, cause) {
  const error = new DatabaseError(PG_MESSAGES[code], code)
  error.cause = cause
  if (cause?.stack) {
    const at = cause.stack.indexOf('\n    at ')
    error.stack = `${error.name}: ${error.message}${at === -1 ? '' : cause.stack.slice(at)}`
  }
  return error
}

/** `error` as pg words it, when pg has words for its code; otherwise `error` itself. */
function asPg(error) {
  return error instanceof DatabaseError && Object.hasOwn(PG_MESSAGES, error.code) ? pgError(error.code, error) : error
}

/** Throws `error` as pg words it (a rejection handler). */
function rethrowAsPg(error) {
  throw asPg(error)
}

/** A new DatabaseError with `code` and pg's message for it, its stack starting at the caller's. */
function pgClientError(code, below) {
  const error = clientError(code, PG_MESSAGES[code])
  Error.captureStackTrace(error, below)
  return error
}

module.exports = { asPg, rethrowAsPg, pgError, pgClientError }
