'use strict'
// DatabaseManager: the public class. It checks arguments, prepares values, calls the native pool,
// and turns native results and errors into node-postgres-shaped results and DatabaseErrors.

const { EventEmitter } = require('node:events')
const { inspect } = require('node:util')
const { NativePool } = require('../native.js')
const { captureTrace, fromNative, clientError } = require('./errors')
const { prepareValues, ValueError } = require('./values')
const { buildResult } = require('./rows')
const { Parsers } = require('./types')
const { nativeOptions, OptionError } = require('./options')

const ROW_MODES = new Set([undefined, null, 'array', 'object'])

/** Normalises query(text, values) and query({ text, values, rowMode }) or throws INVALID_ARGUMENT. */
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

class DatabaseManager extends EventEmitter {
  #native
  #parsers

  /** @param {import('../index').DatabaseManagerOptions} [options] */
  constructor(options) {
    super()
    const trace = captureTrace(DatabaseManager)
    try {
      this.#parsers = new Parsers(options?.types, options?.int8)
      this.#native = new NativePool(nativeOptions(options, this.#parsers))
    } catch (e) {
      // OptionError from the facade's checks, InvalidArg from the native resolver.
      if (e instanceof OptionError || e.code === 'InvalidArg') throw clientError('INVALID_CONFIG', e.message, trace)
      throw e
    }
  }

  /** Connects now and runs a check query; rejects if the server is unreachable. */
  async initialize() {
    const trace = captureTrace(this.initialize)
    const outcome = await this.#native.initialize()
    if (outcome.error) throw fromNative(outcome.error, trace)
  }

  /** Runs a query on a pooled connection. */
  query(textOrConfig, values) {
    const trace = captureTrace(this.query)
    return this.#query(trace, textOrConfig, values)
  }

  async #query(trace, textOrConfig, values) {
    let args
    let prepared
    try {
      args = queryArguments(textOrConfig, values)
      prepared = prepareValues(args.values)
    } catch (e) {
      if (e instanceof ValueError) throw clientError('INVALID_ARGUMENT', e.message, trace)
      throw e
    }
    const outcome = await this.#native.query(args.text, prepared)
    if (outcome.error) throw fromNative(outcome.error, trace)
    const results = outcome.results.map((r) => buildResult(r, this.#parsers, args.rowMode))
    return results.length === 1 ? results[0] : results
  }

  /** Waits for queries in flight, closes every connection; later calls reject with POOL_CLOSED. */
  async close() {
    await this.#native.close()
  }

  toString() {
    return `DatabaseManager(${this.#native.describe()})`
  }

  [inspect.custom]() {
    return this.toString()
  }
}

module.exports = { DatabaseManager }
