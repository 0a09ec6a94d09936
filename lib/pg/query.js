'use strict'
// query(text | config, values?, callback?) as node-postgres takes it, for pools and clients:
// `{ text, values, name, rowMode, types, query_timeout }` becomes the manager's query config
// (`name` is not needed: every statement is prepared and kept by its text), and a submittable
// (pg-cursor, pg-query-stream) gets a clear error through its own handleError.

const { clientError } = require('../errors')
const { rethrowAsPg } = require('./errors')
const { withCallback } = require('./callback')

const NOT_SUPPORTED = 'pg-rust-pool/pg does not run submittable queries (pg-cursor, pg-query-stream, …): ' +
  'it cannot stream results yet; run the query without the cursor or stream'

/**
 * Runs a query through `send(textOrConfig, values)` (a manager's or client's query). `types` is
 * the pool's or the module's parsers, for queries that give none (undefined: the engine's defaults).
 */
function query(send, types, textOrConfig, values, callback) {
  if (typeof values === 'function') {
    callback = values
    values = undefined
  }
  const isConfig = textOrConfig !== null && typeof textOrConfig === 'object'
  if (isConfig && typeof textOrConfig.submit === 'function') return refuseSubmittable(textOrConfig, callback)
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
 * A submittable is returned, as pg returns it, and told on the next tick that it cannot run:
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
