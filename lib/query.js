'use strict'
// The query path shared by the manager and its clients: it checks the arguments, prepares the
// values, sends them through one native call, and builds node-postgres-shaped results.

const { fromNative, clientError } = require('./errors')
const { prepareValues, ValueError } = require('./values')
const { decodeResults } = require('./rows')

const ROW_MODES = new Set([undefined, null, 'array', 'object'])

/** Normalises query(text, values) and query({ text, values, rowMode }) or throws ValueError. */
function queryArguments(textOrConfig, values) {
  let text = textOrConfig
  let rowMode
  if (textOrConfig !== null && typeof textOrConfig === 'object' && !Array.isArray(textOrConfig)) {
    text = textOrConfig.text
    rowMode = textOrConfig.rowMode
    if (values === undefined) values = textOrConfig.values
  }
  if (typeof text !== 'string') {
    throw new ValueError(`the query text must be a string (got ${text === null ? 'null' : typeof text}): call query('SELECT …', values) or query({ text, values })`)
  }
  if (values !== undefined && values !== null && !Array.isArray(values)) {
    throw new ValueError(`values must be an array (got ${typeof values}): call query(text, [value1, value2])`)
  }
  if (!ROW_MODES.has(rowMode)) throw new ValueError(`rowMode must be 'array' or omitted (got ${JSON.stringify(rowMode)})`)
  return { text, values: values || [], rowMode }
}

/**
 * Runs one query: `send(text, preparedValues, early)` starts the native call and resolves to
 * its outcome, `{ meta, texts }` or `{ error }`; a long result's rows may reach `early.add`
 * before it (lib/delivery.js), and are decoded then, while the server still sends the rest.
 * Bad arguments reject with INVALID_ARGUMENT before anything is sent; `send` is called
 * synchronously, so calls keep their order. Errors take V8's async stack trace (lib/errors.js).
 */
async function runQuery(send, parsers, textOrConfig, values) {
  let args
  let prepared
  try {
    args = queryArguments(textOrConfig, values)
    prepared = prepareValues(args.values)
  } catch (e) {
    if (e instanceof ValueError) throw clientError('INVALID_ARGUMENT', e.message)
    throw e
  }
  const early = new EarlyRows(parsers, args.rowMode)
  const outcome = await send(args.text, prepared, early)
  if (outcome.error) throw fromNative(outcome.error)
  const results = decodeResults(outcome.meta, outcome.texts, parsers, args.rowMode)
  if (results.length !== 1) return results
  early.prepend(results[0])
  return results[0]
}

/** The rows of a query's one result that came before its end, decoded as they came. */
class EarlyRows {
  #parsers
  #rowMode
  #rows = undefined
  #error = undefined

  constructor(parsers, rowMode) {
    this.#parsers = parsers
    this.#rowMode = rowMode
  }

  /** Takes the next rows; a parser's error is kept for the end, when the query rejects with it. */
  add(meta, texts) {
    if (this.#error !== undefined) return
    try {
      const rows = decodeResults(meta, texts, this.#parsers, this.#rowMode)[0].rows
      if (this.#rows === undefined) this.#rows = rows
      else for (const row of rows) this.#rows.push(row)
    } catch (e) {
      this.#error = e
      this.#rows = undefined
    }
  }

  /** Puts the rows that came early before `result`'s own, or throws the error one of them met. */
  prepend(result) {
    if (this.#error !== undefined) throw this.#error
    if (this.#rows === undefined) return
    for (const row of result.rows) this.#rows.push(row)
    result.rows = this.#rows
  }
}

module.exports = { runQuery }
