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
const { EventBridge } = require('./events')
const { healthStatus } = require('./health')
const { forwardLogs } = require('./logging')

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
  #events

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
    this.#events = new EventBridge(this, this.#native)
    if (options?.logger) forwardLogs(this.#native, options.logger)
  }

  /** Opens `min` connections (at least one) and runs a check query; rejects if it cannot. */
  async initialize() {
    const trace = captureTrace(this.initialize)
    const outcome = await this.#native.initialize()
    if (outcome.error) throw fromNative(outcome.error, trace)
  }

  /** Retries connecting with backoff until the server accepts or `timeoutMillis` pass. */
  async waitForDatabase({ timeoutMillis = 30000 } = {}) {
    const trace = captureTrace(this.waitForDatabase)
    if (!Number.isInteger(timeoutMillis) || timeoutMillis < 0 || timeoutMillis > 0xffffffff) {
      throw clientError('INVALID_ARGUMENT', `timeoutMillis must be a whole number of milliseconds ≥ 0 (got ${timeoutMillis})`, trace)
    }
    const outcome = await this.#native.waitForDatabase(timeoutMillis)
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

  /**
   * Stops new work, waits for queries in flight (at most `timeoutMillis` when given), closes every
   * connection, and resolves once their events have reached the listeners. Later calls reject
   * with POOL_CLOSED.
   */
  async close({ timeoutMillis } = {}) {
    const trace = captureTrace(this.close)
    if (timeoutMillis !== undefined && (!Number.isInteger(timeoutMillis) || timeoutMillis < 0 || timeoutMillis > 0xffffffff)) {
      throw clientError('INVALID_ARGUMENT', `timeoutMillis must be a whole number of milliseconds ≥ 0 (got ${timeoutMillis})`, trace)
    }
    await this.#native.close(timeoutMillis)
    await this.#events.drain()
  }

  /** Sizes, counters and recent latencies of the pool; synchronous and cheap. */
  getPoolStatistics() {
    return this.#native.statistics()
  }

  /** Checks the database within `timeoutMillis`; resolves even when it is down or hung. */
  getHealthStatus(options) {
    return healthStatus(this.#native, options, captureTrace(this.getHealthStatus))
  }

  /** The statistics in the Prometheus text exposition format. */
  metrics() {
    return this.#native.metrics()
  }

  toString() {
    return `DatabaseManager(${this.#native.describe()})`
  }

  [inspect.custom]() {
    return this.toString()
  }
}

module.exports = { DatabaseManager }
