'use strict'
// query(text | config, values?, callback?) as node-postgres takes it, for pools and clients:
// `{ text, values, name, rowMode, types, query_timeout }` becomes the manager's query config
// (`name` is not needed: every statement is prepared and kept by its text). A pg-cursor Cursor or
// a pg-query-stream QueryStream is driven from a stream of the client or pool (lib/pg/cursor.js);
// any other submittable gets a clear error through its own handleError.

const { clientError } = require('../errors')
const { rethrowAsPg } = require('./errors')
const { withCallback } = require('./callback')
const { drive, cursorOf } = require('./cursor')

const NOT_SUPPORTED = 'pg-rust-pool/pg runs no submittable queries but pg-cursor\'s Cursor and pg-query-stream: ' +
  'read the rows with client.stream() (pg-rust-pool) or run the query without the submittable'

/**
 * Runs a query through `send(textOrConfig, values)` (a manager's or client's query). `types` is
 * the pool's or the module's parsers, for queries that give none (undefined: the engine's defaults).
 * A cursor is driven from `open(config)`, which opens a stream (see lib/pg/cursor.js).
 */
function query(send, types, textOrConfig, values, callback, open) {
  if (typeof values === 'function') {
    callback = values
    values = undefined
  }
  const isConfig = textOrConfig !== null && typeof textOrConfig === 'object'
  if (isConfig && typeof textOrConfig.submit === 'function') return submit(textOrConfig, callback, open, types)
  if (isConfig) {
    callback ??= textOrConfig.callback
    textOrConfig = managerConfig(textOrConfig, types)
  } else if (types !== undefined) {
    textOrConfig = { text: textOrConfig, types }
  }
  return withCallback(send(textOrConfig, values).then(undefined, rethrowAsPg), callback)
}

function managerConfig(config, types) {
  const { query_timeout: queryTimeout, timeoutMillis, ...rest } = config
  return {
    ...rest,
    rowMode: config.rowMode === 'array' ? 'array' : undefined,
    types: config.types ?? types,
    timeoutMillis: timeoutMillis ?? (queryTimeout || undefined),
  }
}

/**
 * A submittable is returned, as pg returns it: a cursor driven from `open`, its `callback` (which
 * pg-query-stream calls at its end) the call's when it has none, as pg sets it.
 */
function submit(submittable, callback, open, types) {
  if (open === undefined || cursorOf(submittable) === undefined) return refuseSubmittable(submittable, callback)
  if (typeof callback === 'function' && !submittable.callback) submittable.callback = callback
  return drive(submittable, open, types)
}

/**
 * A submittable that cannot run is returned, as pg returns it, and told on the next tick:
 * pg-cursor rejects its reads and pg-query-stream emits `error`.
 */
function refuseSubmittable(submittable, callback) {
  const error = clientError('NOT_SUPPORTED', NOT_SUPPORTED)
  if (typeof submittable.handleError !== 'function' && typeof callback !== 'function') throw error
  process.nextTick(() => {
    submittable.handleError?.(error)
    callback?.(error)
  })
  return submittable
}

module.exports = { query }
