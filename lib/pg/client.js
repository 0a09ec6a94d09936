'use strict'
// Client: pg's single connection, for libraries that open their own (knex's pool, Kysely's
// control connection): a DatabaseManager of one connection, checked out from connect() to end().
// Queries called before connect() has finished wait for it, as in pg.

const { EventEmitter } = require('node:events')
const { DatabaseManager } = require('../manager')
const { clientError } = require('../errors')
const { query } = require('./query')
const { asPg, pgError, pgClientError } = require('./errors')
const { withCallback } = require('./callback')
const { typesInForce } = require('./types')
const { managerOptions, poolOptions } = require('./options')
const { escapeIdentifier, escapeLiteral } = require('./escape')

/** One connection, kept from connect() to end(), whatever pool settings the config carries. */
const ONE = { max: 1, min: 0, idleTimeoutMillis: 0, maxUses: 0, maxLifetimeSeconds: 0 }

class Client extends EventEmitter {
  #options
  #manager = null
  /** Resolves to the manager client once connected (rejects if connecting failed). */
  #connected
  /** Starts #connected with connect()'s attempt; null once called. */
  #start
  #ended = false
  /** Set when the connection failed: what every later query rejects with. */
  #broken = null

  /** @param {string | object} [config] a connection string, or pg's client config */
  constructor(config) {
    super()
    this.#options = poolOptions(typeof config === 'string' ? { connectionString: config } : config)
    this.#connected = new Promise((resolve) => {
      this.#start = resolve
    })
    /** The server process id of the connection, once connected (null before, as in pg). */
    this.processID = null
  }

  /** Opens the connection: a promise, or `callback(err)`. */
  connect(callback) {
    if (this.#start === null) {
      const reused = clientError('CLIENT_RELEASED', 'Client has already been connected. You cannot reuse a client.')
      return withCallback(Promise.reject(reused), callback)
    }
    this.#start(this.#open())
    this.#start = null
    return withCallback(this.#connected.then(() => undefined), callback, () => [])
  }

  async #open() {
    try {
      this.#manager = new DatabaseManager({ ...managerOptions(this.#options), ...ONE })
      this.#manager.on('error', (error) => this.#lost(error))
      // Its one connection's notices are this client's (pg's `notice` event).
      this.#manager.on('notice', (notice) => this.emit('notice', notice))
      const lease = await this.#manager.getClient()
      this.processID = lease.processID
      this.emit('connect')
      return lease
    } catch (e) {
      await this.#manager?.close()
      throw asPg(e)
    }
  }

  /** Runs a query on the connection (pg's `query(text | config, values?, callback?)`). */
  query(textOrConfig, values, callback) {
    return query(this.#send, this.#options.types ?? typesInForce(), textOrConfig, values, callback, this.#stream)
  }

  #send = async (textOrConfig, values) => {
    if (this.#ended) throw pgClientError('CLIENT_RELEASED', this.query)
    if (this.#broken !== null) throw this.#broken
    const lease = await this.#connected
    return lease.query(textOrConfig, values)
  }

  /** A stream on the connection, for a cursor (lib/pg/cursor.js). */
  #stream = async (config) => {
    if (this.#ended) throw pgClientError('CLIENT_RELEASED', this.query)
    if (this.#broken !== null) throw this.#broken
    const lease = await this.#connected
    return lease.stream(config)
  }

  /** The server ended the connection, or it broke: `error`, then `end`, as pg emits them. */
  #lost(cause) {
    if (this.#ended || this.#broken !== null) return
    this.#broken = pgError('CONNECTION_CLOSED', cause)
    if (this.listenerCount('error') > 0) this.emit('error', this.#broken)
    else process.emitWarning(`a pg-rust-pool/pg Client's connection failed; add an 'error' listener to handle this: ${cause.message}`, { type: 'PgRustPoolWarning' })
    this.emit('end')
  }

  /** Closes the connection: a promise, or `callback(err)`; emits `end`. */
  end(callback) {
    if (this.#ended) return withCallback(Promise.resolve(), callback, () => [])
    this.#ended = true
    const ended = (async () => {
      const lease = this.#start === null ? await this.#connected.catch(() => null) : null
      await lease?.release(true)
      await this.#manager?.close()
      if (this.#broken === null) this.emit('end')
    })()
    return withCallback(ended, callback, () => [])
  }
}

Client.prototype.escapeIdentifier = escapeIdentifier
Client.prototype.escapeLiteral = escapeLiteral

module.exports = { Client }
