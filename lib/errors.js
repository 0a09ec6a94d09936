'use strict'
// DatabaseError: every failure the package reports, with a stable `code` (the SQLSTATE for
// server errors, like node-postgres, or a SCREAMING_SNAKE client code) and a stack that starts at
// the caller's line: captured before the call went to native code, or (for queries and
// transactions, where capturing costs more than a tenth of a round trip) V8's async stack trace,
// which reaches the code that awaits the call, without this package's frames.

const SERVER_FIELDS = [
  'severity', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where',
  'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine', 'copyLine',
]

class DatabaseError extends Error {
  constructor(message, code, fields) {
    super(message)
    this.name = 'DatabaseError'
    this.code = code
    if (fields) {
      for (const key of SERVER_FIELDS) {
        if (fields[key] != null) this[key] = fields[key]
      }
    }
  }
}

/** Captures the caller's stack now, cheaply (V8 formats it only if it is read). */
function captureTrace(below) {
  const trace = {}
  Error.captureStackTrace(trace, below)
  return trace
}

/** Frames of this package's own code. */
const INTERNAL = `(${__dirname}/`

/**
 * Gives `error` the stack of `trace` (the caller of the public method) or, without one, its own
 * stack without this package's frames.
 */
function withTrace(error, trace) {
  if (trace) {
    const frames = trace.stack
    const at = frames.indexOf('\n')
    error.stack = `${error.name}: ${error.message}${at === -1 ? '' : frames.slice(at)}`
  } else {
    error.stack = error.stack.split('\n').filter((line) => !(line.startsWith('    at ') && line.includes(INTERNAL))).join('\n')
  }
  return error
}

/** A DatabaseError from the native layer's error data. */
function fromNative(data, trace) {
  return withTrace(new DatabaseError(data.message, data.code, data), trace)
}

/** A client-side DatabaseError with `code`. */
function clientError(code, message, trace) {
  return withTrace(new DatabaseError(message, code), trace)
}

/** Throws INVALID_ARGUMENT unless `timeoutMillis` is a whole number of ms from `min` to 2^32 - 1. */
function checkTimeout(timeoutMillis, min, trace) {
  if (!Number.isInteger(timeoutMillis) || timeoutMillis < min || timeoutMillis > 0xffffffff) {
    throw clientError('INVALID_ARGUMENT', `timeoutMillis must be a whole number of milliseconds ≥ ${min} (got ${timeoutMillis})`, trace)
  }
}

module.exports = { DatabaseError, SERVER_FIELDS, captureTrace, withTrace, fromNative, clientError, checkTimeout }
