'use strict'
// Leak detection. A client held longer than `leakDetectionThreshold` gets one warning that
// carries the stack of the code that acquired it. A client garbage-collected without release()
// is counted and reported the same way, and native code lets go of it: its connection goes back
// to the pool, or is closed if a transaction was open.

const { withTrace } = require('./errors')

class LeakWarning extends Error {
  constructor(message, reason, heldMillis) {
    super(message)
    this.name = 'LeakWarning'
    this.reason = reason
    this.heldMillis = heldMillis
  }
}

/**
 * Where the client was acquired: the first frame of its captured stack. executeTransaction
 * captures one only while leak detection is on (`tracing`).
 */
function acquiredAt(lease) {
  if (lease.trace === undefined) return `${lease.what} (set leakDetectionThreshold to record where)`
  const frame = lease.trace.stack.split('\n')[1]
  return frame === undefined ? 'an unknown place' : frame.trim().replace(/^at /, '')
}

class Leaks {
  #manager
  #native
  #threshold
  #registry = new FinalizationRegistry((lease) => this.#collected(lease))
  /** Clients collected without release() so far. */
  collected = 0

  constructor(manager, native) {
    this.#manager = manager
    this.#native = native
    this.#threshold = native.leakDetectionThreshold()
  }

  /** Whether acquisitions should capture their stack for a 'held' warning. */
  get tracing() {
    return this.#threshold > 0
  }

  /**
   * Watches `client` from now on. `lease` is its bookkeeping ({ trace, hold, what, handle }); it
   * must not reference the client, or the client could never be collected.
   */
  watch(client, lease) {
    lease.since = performance.now()
    if (this.#threshold > 0) lease.timer = setTimeout(() => this.#held(lease), this.#threshold).unref()
    this.#registry.register(client, lease, lease)
  }

  /** Stops watching: the client was released. */
  forget(lease) {
    clearTimeout(lease.timer)
    this.#registry.unregister(lease)
  }

  #held(lease) {
    const held = Math.floor(performance.now() - lease.since)
    // A timer counts from the event loop's cached clock, which can lag the real one by a
    // millisecond or more: it may fire just short of the threshold. Wait out the rest instead.
    if (held < this.#threshold) {
      lease.timer = setTimeout(() => this.#held(lease), this.#threshold - held).unref()
      return
    }
    this.#report(lease, 'held', held, `a client from ${lease.what} has been held for ${held} ms, ` +
      `longer than leakDetectionThreshold (${this.#threshold} ms), without release(): release it in a ` +
      `finally block, or raise leakDetectionThreshold if this is expected; acquired at ${acquiredAt(lease)}`)
  }

  #collected(lease) {
    clearTimeout(lease.timer)
    this.#native.dropClient(lease.handle)
    lease.hold.released()
    this.collected += 1
    this.#report(lease, 'unreachable', Math.floor(performance.now() - lease.since), `a client from ${lease.what} was ` +
      'garbage-collected without release(): its connection went back to the pool (or was closed, ' +
      `being inside a transaction); release it in a finally block; acquired at ${acquiredAt(lease)}`)
  }

  /** A 'leak' event, or a process warning when nobody listens. */
  #report(lease, reason, heldMillis, message) {
    const warning = withTrace(new LeakWarning(message, reason, heldMillis), lease.trace)
    if (this.#manager.listenerCount('leak') > 0) this.#manager.emit('leak', warning)
    else process.emitWarning(warning)
  }
}

module.exports = { Leaks, LeakWarning }
