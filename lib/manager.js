'use strict'
// DatabaseManager: the public class. It checks arguments, prepares values, calls the native pool,
// and turns native results and errors into node-postgres-shaped results and DatabaseErrors.

const { EventEmitter } = require('node:events')
const { inspect } = require('node:util')
const { NativePool } = require('../native.js')
const { captureTrace, fromNative, clientError } = require('./errors')
const { runQuery } = require('./query')
const { Parsers } = require('./types')
const { nativeOptions, OptionError } = require('./options')
const { holds } = require('./hold')
const { getClient } = require('./client')
const { executeTransaction } = require('./transaction')
const { Leaks } = require('./leak')

class DatabaseManager extends EventEmitter {
  #native
  #parsers
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
    const leaks = new Leaks(this, this.#native.leakDetectionThreshold())
    this.#shared = { manager: this, native: this.#native, parsers: this.#parsers, leaks }
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
    // Code that holds a client of this manager must not wait for a second connection.
    const send = holds(this) ? this.#queryHolding : this.#send
    return runQuery(send, this.#parsers, trace, textOrConfig, values)
  }

  #send = (text, values) => this.#native.query(text, values)
  #queryHolding = (text, values) => this.#native.queryHolding(text, values)

  /** Checks out a client; `release()` it when done. */
  getClient() {
    const trace = captureTrace(this.getClient)
    return getClient(this.#shared, trace)
  }

  /** Runs `work` (a callback, or a list of queries) in a transaction on one client. */
  executeTransaction(work, options) {
    const trace = captureTrace(this.executeTransaction)
    return executeTransaction(this.#shared, trace, work, options)
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
