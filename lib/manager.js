'use strict'
// DatabaseManager: the public class. It checks arguments, prepares values, calls the native pool,
// and turns native results and errors into node-postgres-shaped results and DatabaseErrors.

const { EventEmitter } = require('node:events')
const { inspect } = require('node:util')
const { NativePool } = require('./native')
const { captureTrace, fromNative, clientError, checkTimeout } = require('./errors')
const { runQuery } = require('./query')
const { Parsers } = require('./types')
const { nativeOptions, OptionError } = require('./options')
const { EventBridge } = require('./events')
const { healthStatus } = require('./health')
const { forwardLogs } = require('./logging')
const { holds } = require('./hold')
const { getClient } = require('./client')
const { executeTransaction, TransactionCount } = require('./transaction')
const { Leaks } = require('./leak')
const { Delivery } = require('./delivery')
const { limitedCall, untilAborted, abortedBefore, checkSignal } = require('./abort')
const { Channels } = require('./listen')

/** Throws INVALID_ARGUMENT unless `signal` is undefined or an AbortSignal. */
function checkSignalArgument(signal, trace) {
  try {
    checkSignal(signal)
  } catch (e) {
    throw clientError('INVALID_ARGUMENT', e.message, trace)
  }
}

class DatabaseManager extends EventEmitter {
  #native
  #parsers
  #events
  /** LISTEN/NOTIFY: each channel's callbacks. */
  #channels
  /** What clients and transactions need of this manager. */
  #shared

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
    const delivery = new Delivery(this.#native)
    if (options?.logger) forwardLogs(this.#native, options.logger)
    const leaks = new Leaks(this, this.#native)
    const transactions = new TransactionCount(this.#native)
    this.#channels = new Channels(this, this.#native, delivery)
    this.#shared = { manager: this, native: this.#native, parsers: this.#parsers, leaks, delivery, transactions }
  }

  /** Opens `min` connections (at least one) and runs a check query; rejects if it cannot. */
  async initialize() {
    const trace = captureTrace(this.initialize)
    const outcome = await this.#native.initialize()
    if (outcome.error) throw fromNative(outcome.error, trace)
  }

  /** Retries connecting with backoff until the server accepts or `timeoutMillis` pass. */
  async waitForDatabase({ timeoutMillis = 30000, signal } = {}) {
    const trace = captureTrace(this.waitForDatabase)
    checkTimeout(timeoutMillis, 0, trace)
    checkSignalArgument(signal, trace)
    if (signal?.aborted) throw abortedBefore(signal, trace)
    // Aborted, the caller stops waiting; the engine's attempts end at their own timeout.
    const outcome = await untilAborted(this.#native.waitForDatabase(timeoutMillis), signal,
      'waitForDatabase() was aborted (its AbortSignal fired) before the database answered', trace, () => {})
    if (outcome.error) throw fromNative(outcome.error, trace)
  }

  /** Runs a query on a pooled connection. */
  query(textOrConfig, values) {
    // Code that holds a client of this manager must not wait for a second connection.
    const send = holds(this) ? this.#queryHolding : this.#send
    return runQuery(send, this.#parsers, textOrConfig, values)
  }

  #send = (text, values, early, limit) => limit === undefined
    ? this.#shared.delivery.call((id) => this.#native.query(id, text, values), early)
    : this.#sendLimited(text, values, early, limit)

  /** A query with `timeoutMillis` or `signal`: the engine limits it, and the signal reaches it. */
  #sendLimited(text, values, early, { timeoutMillis, signal }) {
    return limitedCall(this.#shared.delivery, this.#native, signal, early,
      (id) => this.#native.queryLimited(id, text, values, { timeoutMillis, abortable: signal !== undefined }))
  }
  #queryHolding = (text, values, early) => this.#shared.delivery.call((id) => this.#native.queryHolding(id, text, values), early)

  /** Checks out a client; `release()` it when done. */
  getClient(options) {
    const trace = captureTrace(this.getClient)
    const signal = options?.signal
    checkSignalArgument(signal, trace)
    if (signal?.aborted) return Promise.reject(abortedBefore(signal, trace))
    // Aborted while it waits for a connection, the call gives up; a connection that comes after
    // goes straight back.
    return untilAborted(getClient(this.#shared, trace), signal,
      'getClient() was aborted (its AbortSignal fired) while it waited for a connection', trace,
      (client) => client.release())
  }

  /** Runs `work` (a callback, or a list of queries) in a transaction on one client. */
  executeTransaction(work, options) {
    // Errors take V8's async stack trace (see lib/errors.js); the leak detector, when it is on,
    // reports where a transaction's client was acquired.
    const trace = this.#shared.leaks.tracing ? captureTrace(this.executeTransaction) : undefined
    return executeTransaction(this.#shared, trace, work, options)
  }

  /**
   * Calls `onNotification({ channel, payload, processId })` for each notification on `channel`;
   * resolves, once LISTEN is in force on the server, to an async function that stops it.
   */
  listen(channel, onNotification) {
    return this.#channels.listen(channel, onNotification, captureTrace(this.listen))
  }

  /** Sends a notification on `channel` (`pg_notify`) from a pooled connection. */
  notify(channel, payload) {
    return this.#channels.notify(channel, payload, captureTrace(this.notify))
  }

  /**
   * Stops new work, waits for queries in flight (at most `timeoutMillis` when given), closes every
   * connection, and resolves once their events have reached the listeners. Later calls reject
   * with POOL_CLOSED.
   */
  async close({ timeoutMillis } = {}) {
    const trace = captureTrace(this.close)
    if (timeoutMillis !== undefined) checkTimeout(timeoutMillis, 0, trace)
    this.#channels.close()
    await this.#native.close(timeoutMillis)
    await this.#events.drain()
  }

  /** Sizes, counters and recent latencies of the pool; synchronous and cheap. */
  getPoolStatistics() {
    this.#shared.transactions.report()
    return this.#native.statistics()
  }

  /** Checks the database within `timeoutMillis`; resolves even when it is down or hung. */
  getHealthStatus(options) {
    return healthStatus(this.#native, options, captureTrace(this.getHealthStatus))
  }

  /** The statistics in the Prometheus text exposition format. */
  metrics() {
    this.#shared.transactions.report()
    return this.#native.metrics()
  }

  /**
   * Whether the last attempt to reach the server succeeded (a connect, a query, a health check):
   * false before the first, and while the database is down.
   */
  get isConnected() {
    return this.#native.isConnected()
  }

  toString() {
    return `DatabaseManager(${this.#native.describe()})`
  }

  [inspect.custom]() {
    return this.toString()
  }
}

module.exports = { DatabaseManager }
