'use strict'
// The query path shared by the manager and its clients: it checks the arguments, prepares the
// values, sends them through one native call, and builds node-postgres-shaped results.

const { fromNative, clientError } = require('./errors')
const { prepareValues, ValueError } = require('./values')
const { readResults, buildResult } = require('./rows')
const { checkSignal, asAbortError, abortedBefore } = require('./abort')
const { QueryParsers } = require('./types')

const ROW_MODES = new Set([undefined, null, 'array', 'object'])

/**
 * Normalises query(text, values) and query({ text, values, rowMode, types, timeoutMillis, signal })
 * or throws ValueError. `limit` is undefined unless the call gives a timeout or a signal; `types`
 * unless it gives its own parsers.
 */
function queryArguments(textOrConfig, values) {
  let text = textOrConfig
  let rowMode
  let limit
  let types
  if (textOrConfig !== null && typeof textOrConfig === 'object' && !Array.isArray(textOrConfig)) {
    text = textOrConfig.text
    rowMode = textOrConfig.rowMode
    types = textOrConfig.types
    if (types !== undefined && typeof types?.getTypeParser !== 'function') {
      throw new ValueError('types must be an object with a getTypeParser(oid, format) method, as node-postgres\'s `types`')
    }
    if (values === undefined) values = textOrConfig.values
    const { timeoutMillis, signal } = textOrConfig
    if (timeoutMillis !== undefined || signal !== undefined) {
      if (timeoutMillis !== undefined && (!Number.isInteger(timeoutMillis) || timeoutMillis < 0 || timeoutMillis > 0x7fffffff)) {
        throw new ValueError(`timeoutMillis must be a whole number of milliseconds from 0 (no limit) to 2147483647 (got ${timeoutMillis})`)
      }
      try {
        checkSignal(signal)
      } catch (e) {
        throw new ValueError(e.message)
      }
      limit = { timeoutMillis, signal }
    }
  }
  if (typeof text !== 'string') {
    throw new ValueError(`the query text must be a string (got ${text === null ? 'null' : typeof text}): call query('SELECT …', values) or query({ text, values })`)
  }
  checkText(text)
  if (values !== undefined && values !== null && !Array.isArray(values)) {
    throw new ValueError(`values must be an array (got ${typeof values}): call query(text, [value1, value2])`)
  }
  if (!ROW_MODES.has(rowMode)) throw new ValueError(`rowMode must be 'array' or omitted (got ${JSON.stringify(rowMode)})`)
  return { text, values: values || [], rowMode, limit, types }
}

/** The most bytes one protocol message may hold (PostgreSQL's MaxAllocSize), and so a query. */
const MAX_QUERY_BYTES = 0x3fffffff

/** Throws ValueError for query text the server could never receive. */
function checkText(text) {
  const nul = text.indexOf('\0')
  if (nul !== -1) {
    throw new ValueError(`the query text holds a NUL character (\\0) at index ${nul}, which PostgreSQL cannot receive: remove it, or pass the data as a value ($1)`)
  }
  if (!text.isWellFormed()) {
    throw new ValueError('the query text holds a lone UTF-16 surrogate (half of a character), which is not valid Unicode: check how the text was built')
  }
  if (text.length > MAX_QUERY_BYTES / 3 && Buffer.byteLength(text) > MAX_QUERY_BYTES) {
    throw new ValueError(`the query text is ${Buffer.byteLength(text)} bytes long, more than the 1 GiB PostgreSQL accepts in one message: pass large data as values, or in pieces`)
  }
}

/**
 * Runs one query: `send(text, preparedValues, early, limit)` starts the native call and resolves
 * to its outcome, `{ meta, texts }` or `{ error }`; a long result's rows may reach `early.add`
 * before it (lib/delivery.js), and are decoded then, while the server still sends the rest.
 * Bad arguments reject with INVALID_ARGUMENT before anything is sent; `send` is called
 * synchronously, so calls keep their order. Errors take V8's async stack trace (lib/errors.js);
 * with `failed`, the query rejects with what `failed(error)` returns instead (a transaction's
 * client, lib/client.js: a wrapper of its own was two more promises per query).
 */
async function runQuery(send, parsers, textOrConfig, values, failed) {
  try {
    let args
    let prepared
    try {
      args = queryArguments(textOrConfig, values)
      prepared = prepareValues(args.values)
    } catch (e) {
      if (e instanceof ValueError) throw clientError('INVALID_ARGUMENT', e.message)
      throw e
    }
    const signal = args.limit?.signal
    if (signal?.aborted) throw abortedBefore(signal)
    if (args.types !== undefined) parsers = new QueryParsers(args.types)
    const early = new EarlyRows(parsers)
    const outcome = await send(args.text, prepared, early, args.limit)
    if (outcome.error) {
      const error = fromNative(outcome.error)
      throw error.code === 'ABORT_ERR' ? asAbortError(error, signal) : error
    }
    const results = readResults(outcome.meta, outcome.texts, parsers)
    if (results.length !== 1) return results.map((result) => buildResult(result, args.rowMode))
    return buildResult(early.prepend(results[0]), args.rowMode)
  } catch (e) {
    throw failed === undefined ? e : failed(e)
  }
}

/**
 * The rows of a query's one result that came before its end, read into columns of values as they
 * came. Rows are built only once the result ended: row objects kept alive across the garbage
 * collections of a long result made V8 allocate every row object in the old generation from then
 * on (allocation-site pretenuring), and the process then ran a full collection every few queries.
 */
class EarlyRows {
  #parsers
  #columns = undefined
  #n = 0
  #error = undefined

  constructor(parsers) {
    this.#parsers = parsers
  }

  /** Takes the next rows; a parser's error is kept for the end, when the query rejects with it. */
  add(meta, texts) {
    if (this.#error !== undefined) return
    try {
      const { n, columns } = readResults(meta, texts, this.#parsers)[0]
      if (this.#columns === undefined) this.#columns = columns
      else append(this.#columns, columns)
      this.#n += n
    } catch (e) {
      this.#error = e
      this.#columns = undefined
    }
  }

  /** `result` with the rows that came early before its own, or throws the error one of them met. */
  prepend(result) {
    if (this.#error !== undefined) throw this.#error
    if (this.#columns === undefined) return result
    append(this.#columns, result.columns)
    return { ...result, n: this.#n + result.n, columns: this.#columns }
  }
}

/** Appends each column's values to those of `to`. */
function append(to, columns) {
  for (let j = 0; j < to.length; j++) {
    const values = to[j]
    for (const value of columns[j]) values.push(value)
  }
}

module.exports = { runQuery, queryArguments }
