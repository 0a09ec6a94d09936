'use strict'
// Pool events from the native layer to the manager's listeners. The native side only builds and
// sends the kinds somebody listens to (a bitmask kept current from newListener/removeListener);
// `error` is always sent, because an error nobody listens to must still be reported — on stderr,
// never by throwing, so that an idle connection dying cannot crash the process.

const { fromNative, SERVER_FIELDS } = require('./errors')

// Each event's bit in the listener mask, as the engine defines them (`events::kind::NAMES`).
const { events: BITS } = require('./constants')

/**
 * A notice as node-postgres passes it to `notice` listeners (pg-protocol's NoticeMessage): a plain
 * object with `name: 'notice'`, `message`, `severity`, `code` and the server's other fields.
 */
function notice(data) {
  const n = { name: 'notice', message: data.message, severity: data.severity, code: data.code }
  for (const key of SERVER_FIELDS) {
    if (data[key] != null) n[key] = data[key]
  }
  return n
}

function warn(message) {
  process.emitWarning(message, { type: 'PgRustPoolWarning' })
}

/** Calls the listeners of `name`; a listener that throws is reported, and the pool goes on. */
function emitSafely(manager, name, ...args) {
  try {
    manager.emit(name, ...args)
  } catch (e) {
    warn(`a '${name}' listener threw (the pool carries on): ${e?.stack ?? e}`)
  }
}

/**
 * Emits `error` with `error` and `info`, or, with no `error` listener, reports `unheard` as a
 * process warning: never a throw.
 */
function emitError(manager, error, info, unheard) {
  if (manager.listenerCount('error') > 0) emitSafely(manager, 'error', error, info)
  else warn(`${unheard}: ${error.code}: ${error.message}${error.cause?.stack ? `\n${error.cause.stack}` : ''}`)
}

class EventBridge {
  #manager
  #native
  #drained = []
  /** `{ target: 'replica' }` for the replica pool's events (lib/replicas.js), else nothing. */
  #target

  constructor(manager, native, target) {
    this.#manager = manager
    this.#native = native
    this.#target = target === undefined ? {} : { target }
    native.listen((event) => this.#deliver(event))
    // newListener fires before the listener is added, so it is counted by hand.
    manager.on('newListener', (name) => {
      if (Object.hasOwn(BITS, name)) this.#update(name)
    })
    manager.on('removeListener', (name) => {
      if (Object.hasOwn(BITS, name)) this.#update()
    })
  }

  #update(adding) {
    let mask = 0
    for (const [name, bit] of Object.entries(BITS)) {
      if (name === adding || this.#manager.listenerCount(name) > 0) mask |= bit
    }
    this.#native.setListening(mask)
  }

  #deliver(event) {
    const manager = this.#manager
    switch (event.kind) {
      case 'drained':
        this.#drained.shift()?.()
        return
      case 'error':
        if (event.reason === 'listen') {
          emitError(manager, fromNative(event.error), { pid: event.pid, listen: true, ...this.#target },
            `the LISTEN connection (server pid ${event.pid}) was lost; it reconnects while channels are listened, and notifications sent meanwhile are missed (the 'listen' event says when it is back); add an 'error' listener to handle this`)
        } else {
          emitError(manager, fromNative(event.error), { pid: event.pid, ...this.#target },
            `an idle connection (server pid ${event.pid}) failed and was removed; add an 'error' listener to handle this`)
        }
        return
      case 'remove':
        emitSafely(manager, 'remove', { pid: event.pid, reason: event.reason, ...this.#target })
        return
      case 'circuitOpen':
        emitSafely(manager, 'circuitOpen', fromNative(event.error))
        return
      case 'circuitClose':
        emitSafely(manager, 'circuitClose')
        return
      case 'notice':
        emitSafely(manager, 'notice', notice(event.error), { pid: event.pid, ...this.#target })
        return
      case 'listen':
        emitSafely(manager, 'listen', { pid: event.pid, channels: event.channels, reconnected: event.reconnected })
        return
      default:
        emitSafely(manager, event.kind, { pid: event.pid, ...this.#target })
    }
  }

  /** Resolves once every event emitted before this call has reached the listeners. */
  drain() {
    return new Promise((resolve) => {
      // Events travel through a weak (unref'd) channel; this timer keeps the process alive until
      // the marker arrives, and gives up after a second rather than hang.
      const keepAlive = setTimeout(done, 1000)
      function done() {
        clearTimeout(keepAlive)
        resolve()
      }
      this.#drained.push(done)
      this.#native.drainEvents()
    })
  }
}

module.exports = { EventBridge, emitError }
