'use strict'
// The client of pool.connect(), and the argument of a Pool's events: one object per physical
// connection (by server pid) while it lives, as pg-pool gives. While checked out, its queries run
// on the manager client it holds; release() gives that back. Outside a checkout it only names
// its connection: the pool's queries choose their own.

const { EventEmitter } = require('node:events')
const { clientError } = require('../errors')
const { kLetGo } = require('../client')
const { query } = require('./query')
const { pgClientError } = require('./errors')
const { escapeIdentifier, escapeLiteral } = require('./escape')

/** Members the Pool uses; not part of the public client. */
const kHold = Symbol('hold')
const kHeld = Symbol('held')
const kReleaseError = Symbol('releaseError')

const NOT_CHECKED_OUT = 'this client was never checked out by pool.connect(): pg-rust-pool/pg passes a connection to ' +
  'the pool\'s events to name it, not to run queries on; for settings every connection needs, use the ' +
  'pool\'s `options` (e.g. \'-c search_path=app\'), which the server applies when it opens one'

class PoolClient extends EventEmitter {
  /** The manager client of the current checkout, or null. */
  #lease = null
  /** Whether a checkout has ever held it (else queries say it is only a name). */
  #wasHeld = false
  #types

  /**
   * @param {number} pid the server process id of the connection
   * @param {() => object | undefined} types the parsers queries use when they give none
   * @param {() => void} noticed called when a `notice` listener is added
   */
  constructor(pid, types, noticed) {
    super()
    this.processID = pid
    this.#types = types
    // The pool passes its connections' notices on once some client listens for them.
    this.on('newListener', (name) => {
      if (name === 'notice') noticed()
    })
    // pg-pool hands `release` to connect()'s callback unbound.
    this.release = (err) => this.#release(err)
  }

  /** Runs a query on this client's connection (pg's `query(text | config, values?, callback?)`). */
  query(textOrConfig, values, callback) {
    return query(this.#send, this.#types(), textOrConfig, values, callback, this.#stream)
  }

  #send = (textOrConfig, values) => {
    if (this.#lease !== null) return this.#lease.query(textOrConfig, values)
    return Promise.reject(this.#notHeld())
  }

  /** A stream on the connection, for a cursor (lib/pg/cursor.js). */
  #stream = (config) => {
    if (this.#lease !== null) return this.#lease.stream(config)
    throw this.#notHeld()
  }

  #notHeld() {
    return this.#wasHeld ? pgClientError('CLIENT_RELEASED', this.query) : clientError('CLIENT_RELEASED', NOT_CHECKED_OUT)
  }

  #release(err) {
    const lease = this.#lease
    if (lease === null) {
      throw clientError('CLIENT_RELEASED', 'Release called on client which has already been released to the pool.')
    }
    this.#lease = null
    this[kReleaseError] = err instanceof Error ? err : undefined
    // pg's release() tells its caller nothing: nor does this one, and no outcome comes back.
    lease[kLetGo](Boolean(err))
  }

  /** Takes the manager client of a new checkout of this connection. */
  [kHold](lease) {
    this.#lease = lease
    this.#wasHeld = true
  }

  /** Whether it is checked out now. */
  get [kHeld]() {
    return this.#lease !== null
  }
}

PoolClient.prototype.escapeIdentifier = escapeIdentifier
PoolClient.prototype.escapeLiteral = escapeLiteral

module.exports = { PoolClient, kHold, kHeld, kReleaseError }
