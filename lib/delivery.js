'use strict'
// The outcomes of native calls (queries, checkouts, commits) come back on one callback
// (src/delivery.rs): each call carries an id, and the callback receives every outcome finished
// since the last one as one flat array: per outcome `id, meta, n, text_1 … text_n` (query results:
// an ArrayBuffer and strings, see lib/rows.js), `id, error, 0`, or `id, value, -1`.

class Delivery {
  /** Resolvers by call id. */
  #waiting = new Map()
  #last = 0

  constructor(native) {
    native.deliverTo((batch) => this.#receive(batch))
  }

  /**
   * Calls `send(id)`, which starts a native call that delivers under `id`; resolves to
   * `{ meta, texts }`, `{ value }` or `{ error }`.
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
    for (let i = 0; i < batch.length;) {
      const id = batch[i]
      const payload = batch[i + 1]
      const n = batch[i + 2]
      i += 3
      const resolve = this.#waiting.get(id)
      this.#waiting.delete(id)
      if (n > 0) resolve({ meta: payload, texts: batch.slice(i, i += n), error: undefined })
      else if (n === 0) resolve({ error: payload })
      else resolve({ value: payload, error: undefined })
    }
  }
}

module.exports = { Delivery }
