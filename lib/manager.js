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
const { holds, newHold, enterHold } = require('./hold')
const { RowStream, streamArguments, streamCalls } = require('./stream')
const { getClient } = require('./client')
const { executeTransaction, TransactionCount } = require('./transaction')
const { Leaks } = require('./leak')
const { Delivery } = require('./delivery')
const { limitedCall, untilAborted, abortedBefore, checkSignal } = require('./abort')
const { Replicas, replicaOptions, mergeMetrics } = require('./replicas')
const { Channels } = require('./listen')
const { CopyFromStream, CopyToStream, copyArguments, copyStream } = require('./copy')

/** Throws INVALID_ARGUMENT unless `signal` is undefined or an AbortSignal. */
function checkSignalArgument(signal, trace) {
  try {
    checkSignal(signal)
  } catch (e) {
    throw clientError('INVALID_ARGUMENT', e.message, trace)
  }
}

/** What clients, transactions and queries need of one native pool of a manager. */
function target(manager, native, parsers) {
  return {
    manager,
    native,
    parsers,
    leaks: new Leaks(manager, native),
    delivery: new Delivery(native),
    transactions: new TransactionCount(native),
  }
}

/** Sends a query on `shared`'s pool: `send` of lib/query.js. */
function sender(shared) {
  const { native, delivery } = shared
  return (text, values, early, limit) => limit === undefined
    ? delivery.call((id) => native.query(id, text, values), early)
    // A query with `timeoutMillis` or `signal`: the engine limits it, and the signal reaches it.
    : limitedCall(delivery, native, limit.signal, early,
      (id) => native.queryLimited(id, text, values, { timeoutMillis: limit.timeoutMillis, abortable: limit.signal !== undefined }))
}

/** Whether a call asked for a replica: `{ readOnly: true }` in its options or query config. */
function readOnly(options, config) {
  if (options?.readOnly !== undefined) return options.readOnly === true
  return config !== null && typeof config === 'object' && config.readOnly === true
}

class DatabaseManager extends EventEmitter {
  #native
  #parsers
  #events
  /** LISTEN/NOTIFY: each channel's callbacks. */
  #channels
  /** What clients and transactions need of this manager. */
  #shared
  #send
  /** The read replicas (`replicas`), or undefined. */
  #replicas
  #replicaEvents

  /** @param {import('../index').DatabaseManagerOptions} [options] */
  constructor(options) {
    super()
    const trace = captureTrace(DatabaseManager)
    let replicaNative
    try {
      this.#parsers = new Parsers(options?.types, options?.int8)
      const native = nativeOptions(options, this.#parsers)
      this.#native = new NativePool(native)
      if (options?.replicas !== undefined) replicaNative = new NativePool(replicaOptions(native, options.replicas))
    } catch (e) {
      // OptionError from the facade's checks, InvalidArg from the native resolver.
      if (e instanceof OptionError || e.code === 'InvalidArg') throw clientError('INVALID_CONFIG', e.message, trace)
      throw e
    }
    this.#events = new EventBridge(this, this.#native)
    if (options?.logger) forwardLogs(this.#native, options.logger)
    this.#shared = target(this, this.#native, this.#parsers)
    this.#send = sender(this.#shared)
    if (replicaNative !== undefined) {
      this.#replicaEvents = new EventBridge(this, replicaNative, 'replica')
      if (options.logger) forwardLogs(replicaNative, options.logger)
      const shared = target(this, replicaNative, this.#parsers)
      this.#replicas = new Replicas(shared, sender(shared), options.maxReplicaLagMillis)
    }
    this.#channels = new Channels(this, this.#native, this.#shared.delivery)
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

  /** Runs a query on a pooled connection (a replica's, for `readOnly` with `replicas`). */
  query(textOrConfig, values, options) {
    if (this.#replicas !== undefined && readOnly(options, textOrConfig)) {
      return this.#replicas.run((send) => runQuery(send, this.#parsers, textOrConfig, values),
        () => runQuery(this.#send, this.#parsers, textOrConfig, values))
    }
    // Code that holds a client of this manager must not wait for a second connection.
    const send = holds(this) ? this.#queryHolding : this.#send
    return runQuery(send, this.#parsers, textOrConfig, values)
  }

  #queryHolding = (text, values, early) => this.#shared.delivery.call((id) => this.#native.queryHolding(id, text, values), early)

  /**
   * A stream of a query's rows in batches of `batchSize`, on a connection of its own held until
   * the stream ends: an async iterable of row arrays (see lib/stream.js).
   */
  stream(textOrConfig, values, options) {
    const args = streamArguments(textOrConfig, values, options)
    // Like getClient(): the code that reads the stream holds its connection, for POOL_DEADLOCK.
    const wait = !holds(this)
    const hold = newHold(this)
    enterHold(hold)
    hold.held()
    const { native } = this.#shared
    const calls = streamCalls(this.#shared, (id, text, values, limit) => native.stream(id, text, values, wait, limit))
    return new RowStream(calls, this.#parsers, args, { ended: () => hold.released() })
  }

  /** Checks out a client; `release()` it when done. */
  getClient(options) {
    const trace = captureTrace(this.getClient)
    const signal = options?.signal
    checkSignalArgument(signal, trace)
    if (signal?.aborted) return Promise.reject(abortedBefore(signal, trace))
    // Aborted while it waits for a connection, the call gives up; a connection that comes after
    // goes straight back.
    const checkedOut = this.#replicas !== undefined && options?.readOnly === true
      ? this.#replicas.run((_, shared) => getClient(shared, trace), () => getClient(this.#shared, trace))
      : getClient(this.#shared, trace)
    return untilAborted(checkedOut, signal,
      'getClient() was aborted (its AbortSignal fired) while it waited for a connection', trace,
      (client) => client.release())
  }

  /** Runs `work` (a callback, or a list of queries) in a transaction on one client. */
  executeTransaction(work, options) {
    // Errors take V8's async stack trace (see lib/errors.js); the leak detector, when it is on,
    // reports where a transaction's client was acquired.
    const trace = this.#shared.leaks.tracing ? captureTrace(this.executeTransaction) : undefined
    if (this.#replicas !== undefined && options?.readOnly === true) {
      // Work that failed for want of the replica runs again, whole, on the primary: as with
      // `retries`, the callback may be called twice.
      return this.#replicas.run((_, shared) => executeTransaction(shared, trace, work, options),
        () => executeTransaction(this.#shared, trace, work, options))
    }
    return executeTransaction(this.#shared, trace, work, options)
  }

  /**
   * `COPY … FROM STDIN` on a connection of its own, held until the stream is over: a Writable
   * of the data, whose 'finish' comes once the server has loaded it all (`rowCount`).
   */
  copyFrom(sql, options) {
    return this.#copy(CopyFromStream, 'copyFrom()', sql, options, captureTrace(this.copyFrom),
      (id, wait) => this.#native.copy(id, sql, false, wait))
  }

  /** `COPY … TO STDOUT` on a connection of its own, held until the stream is over: a Readable of the data. */
  copyTo(sql, options) {
    return this.#copy(CopyToStream, 'copyTo()', sql, options, captureTrace(this.copyTo),
      (id, wait) => this.#native.copy(id, sql, true, wait))
  }

  #copy(Stream, call, sql, options, trace, start) {
    const { highWaterMark, signal } = copyArguments(call, sql, options, trace)
    // Code that holds a client of this manager must not wait for a second connection.
    const wait = !holds(this)
    const { native, delivery } = this.#shared
    return copyStream(Stream, { delivery, native, trace, highWaterMark, signal, start: (id) => start(id, wait), schedule: (run) => run() })
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
    const replica = this.#replicas?.shared.native
    await Promise.all([this.#native.close(timeoutMillis), replica?.close(timeoutMillis)])
    await Promise.all([this.#events.drain(), this.#replicaEvents?.drain()])
  }

  /** Sizes, counters and recent latencies of the pool; synchronous and cheap. */
  getPoolStatistics() {
    this.#shared.transactions.report()
    const statistics = this.#native.statistics()
    if (this.#replicas !== undefined) {
      this.#replicas.shared.transactions.report()
      statistics.replica = this.#replicas.shared.native.statistics()
    }
    return statistics
  }

  /** Checks the database within `timeoutMillis`; resolves even when it is down or hung. */
  getHealthStatus(options) {
    const trace = captureTrace(this.getHealthStatus)
    const primary = healthStatus(this.#native, options, trace)
    if (this.#replicas === undefined) return primary
    return Promise.all([primary, healthStatus(this.#replicas.shared.native, options, trace)])
      .then(([status, replica]) => ({ ...status, replica }))
  }

  /** The statistics in the Prometheus text exposition format. */
  metrics() {
    this.#shared.transactions.report()
    if (this.#replicas === undefined) return this.#native.metrics()
    this.#replicas.shared.transactions.report()
    return mergeMetrics(this.#native.metrics(), this.#replicas.shared.native.metrics())
  }

  /**
   * Whether the last attempt to reach the server succeeded (a connect, a query, a health check):
   * false before the first, and while the database is down.
   */
  get isConnected() {
    return this.#native.isConnected()
  }

  toString() {
    const replica = this.#replicas?.shared.native
    return `DatabaseManager(${this.#native.describe()}${replica ? `, replicas ${replica.describe()}` : ''})`
  }

  [inspect.custom]() {
    return this.toString()
  }
}

module.exports = { DatabaseManager }
