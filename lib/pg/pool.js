'use strict'
// Pool: pg-pool's API over one DatabaseManager. pool.query() is the manager's query (it may share
// a busy connection, pipelined); pool.connect() checks out a manager client and returns the
// PoolClient of its connection; the manager's events, which name a connection by server pid,
// reach the pool's listeners with that same PoolClient.

const { EventEmitter } = require('node:events')
const { DatabaseManager } = require('../manager')
const { clientError } = require('../errors')
const { query } = require('./query')
const { cursorOf } = require('./cursor')
const { asPg, pgError } = require('./errors')
const { withCallback } = require('./callback')
const { typesInForce } = require('./types')
const { managerOptions, poolOptions } = require('./options')
const { PoolClient, kHold, kHeld, kReleaseError } = require('./pool-client')
const { Client } = require('./client')

/** Events whose argument is a client, forwarded from the manager only while someone listens. */
const CLIENT_EVENTS = ['connect', 'acquire', 'release']

function warn(message) {
  process.emitWarning(message, { type: 'PgRustPoolWarning' })
}

class Pool extends EventEmitter {
  #manager
  /** PoolClient by server pid, for the connections seen so far and not removed. */
  #clients = new Map()
  #types
  #ending = false
  #ended = false
  #noticing = false

  /** @param {object} [config] pg-pool's config (see pg.d.ts) */
  constructor(config) {
    super()
    this.options = poolOptions(config)
    this.#types = this.options.types
    this.#manager = new DatabaseManager(managerOptions(this.options))
    this.#manager.on('remove', ({ pid }) => this.#removed(pid))
    this.#manager.on('error', (error, { pid }) => this.#failed(error, pid))
    this.on('newListener', (name) => {
      if (CLIENT_EVENTS.includes(name) && this.listenerCount(name) === 0) {
        this.#manager.on(name, ({ pid }) => this.#emit(name, pid))
      }
    })
    this.on('removeListener', (name) => {
      if (CLIENT_EVENTS.includes(name) && this.listenerCount(name) === 0) this.#manager.removeAllListeners(name)
    })
  }

  /** The DatabaseManager underneath (not in pg): for healthHandlers(), metrics() and statistics. */
  get manager() {
    return this.#manager
  }

  /** The client class a library may build a control connection with (Kysely: `pool.Client`). */
  get Client() {
    return Client
  }

  /** The parsers a query that gives none uses: the config's `types`, else this module's when set. */
  #queryTypes = () => this.#types ?? typesInForce()

  /** Runs a query on a pooled connection (pg's `pool.query(text | config, values?, callback?)`). */
  query(textOrConfig, values, callback) {
    if (this.#ending) {
      const closed = pgError('POOL_CLOSED')
      if (typeof values === 'function') return void process.nextTick(values, closed)
      if (typeof callback === 'function') return void process.nextTick(callback, closed)
      return Promise.reject(closed)
    }
    if (cursorOf(textOrConfig) !== undefined) return this.#submit(textOrConfig, values, callback)
    return query(this.#send, this.#queryTypes(), textOrConfig, values, callback)
  }

  #send = (textOrConfig, values) => this.#manager.query(textOrConfig, values)

  /**
   * A cursor or QueryStream on a connection of its own, as pg-pool runs one on a client it checks
   * out: a promise (or `callback`) settled when the submittable calls back (QueryStream at its
   * end; a Cursor never does, with pg-pool either).
   */
  #submit(submittable, values, callback) {
    if (typeof values === 'function') callback = values
    let result
    if (typeof callback !== 'function') {
      result = new Promise((resolve, reject) => {
        callback = (err, res) => (err ? reject(err) : resolve(res))
      })
    }
    query(this.#send, this.#queryTypes(), submittable, undefined, callback, (config) => this.#manager.stream(config))
    return result
  }

  /** Checks out a client: a promise, or `callback(err, client, release)`. */
  connect(callback) {
    const checkout = this.#ending ? Promise.reject(pgError('POOL_CLOSED')) : this.#checkout()
    return withCallback(checkout, callback, (client) => [client, client.release])
  }

  async #checkout() {
    let lease
    try {
      lease = await this.#manager.getClient()
    } catch (e) {
      throw asPg(e)
    }
    const client = this.#client(lease.processID)
    client[kHold](lease)
    return client
  }

  #client(pid) {
    let client = this.#clients.get(pid)
    if (client === undefined) {
      client = new PoolClient(pid, this.#queryTypes, this.#noticed)
      this.#clients.set(pid, client)
    }
    return client
  }

  /** Passes each connection's notices to its client, from the first `notice` listener on. */
  #noticed = () => {
    if (this.#noticing) return
    this.#noticing = true
    this.#manager.on('notice', (notice, { pid }) => this.#clients.get(pid)?.emit('notice', notice))
  }

  #emit(name, pid) {
    const client = this.#client(pid)
    if (name === 'release') {
      const error = client[kReleaseError]
      client[kReleaseError] = undefined
      this.emit('release', error, client)
    } else {
      this.emit(name, client)
    }
  }

  #removed(pid) {
    const client = this.#clients.get(pid)
    if (client === undefined) return
    this.#clients.delete(pid)
    this.emit('remove', client)
  }

  /**
   * A connection failed: idle, the pool's `error` gets the engine's error; under a checked-out
   * client, that client's and the pool's `error` get pg's `Connection terminated unexpectedly`.
   */
  #failed(cause, pid) {
    const client = this.#client(pid)
    const error = client[kHeld] ? pgError('CONNECTION_CLOSED', cause) : cause
    if (client[kHeld] && client.listenerCount('error') > 0) client.emit('error', error)
    if (this.listenerCount('error') > 0) this.emit('error', error, client)
    else warn(`a pooled connection (server pid ${pid}) failed and was removed; add an 'error' listener to the pool to handle this: ${error.message}`)
  }

  /**
   * Stops new work, waits for checked-out clients to be released and queries in flight to end,
   * and closes every connection: a promise, or `callback(err)`.
   */
  end(callback) {
    if (this.#ending) return withCallback(Promise.reject(clientError('POOL_CLOSED', 'Called end on pool more than once')), callback)
    this.#ending = true
    const closed = this.#manager.close().then(() => {
      this.#ended = true
    })
    return withCallback(closed, callback, () => [])
  }

  get totalCount() {
    return this.#manager.getPoolStatistics().totalCount
  }

  get idleCount() {
    return this.#manager.getPoolStatistics().idleCount
  }

  get waitingCount() {
    return this.#manager.getPoolStatistics().waitingCount
  }

  /** Connections past maxLifetimeSeconds still checked out: the engine closes those when released, and counts none. */
  get expiredCount() {
    return 0
  }

  get ending() {
    return this.#ending
  }

  get ended() {
    return this.#ended
  }
}

module.exports = { Pool }
