'use strict'
// Query outcomes come back from native code on one callback (src/delivery.rs): each query call
// carries an id, and the callback receives every outcome finished since the last one as a flat
// array [id, meta, text, …] (meta an ArrayBuffer and text a string, see lib/rows.js) or
// [id, error, null, …].

class Delivery {
  /** Resolvers by call id. */
  #waiting = new Map()
  #last = 0

  constructor(native) {
    native.deliverTo((batch) => this.#receive(batch))
  }

  /**
   * Calls `send(id)`, which starts a native call that delivers under `id`; resolves to
   * `{ meta, text }` or `{ error }`.
   */
  call(send) {
    const id = this.#last = (this.#last + 1) >>> 0
    const outcome = new Promise((resolve) => this.#waiting.set(id, resolve))
    try {
      send(id)
    } catch (e) {
      this.#waiting.delete(id)
      throw e
    }
    return outcome
  }

  #receive(batch) {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i]
      const resolve = this.#waiting.get(id)
      this.#waiting.delete(id)
      const text = batch[i + 2]
      resolve(typeof text === 'string' ? { meta: batch[i + 1], text, error: undefined } : { error: batch[i + 1] })
    }
  }
}

module.exports = { Delivery }
