'use strict'
// The outcomes of native calls (queries, checkouts, commits) come back on one callback
// (src/delivery.rs): each call carries an id, and the callback receives every outcome finished
// since the last one as one flat array: per outcome `id, meta, n, text_1 … text_n` (query results:
// an ArrayBuffer and strings, see lib/rows.js), `id, error, 0`, or `id, value, -1`. A long
// result's rows may come before its outcome, as `id, meta, -1 - n, text_1 … text_n`.

class Delivery {
  /** Resolvers by call id. */
  #waiting = new Map()
  /** Takers of early rows (`add(meta, texts)`) by call id. */
  #early = new Map()
  #last = 0

  constructor(native) {
    native.deliverTo((batch) => this.#receive(batch))
  }

  /**
   * Calls `send(id)`, which starts a native call that delivers under `id`; resolves to
   * `{ meta, texts }`, `{ value }` or `{ error }`. Rows that come before the outcome go to
   * `early.add(meta, texts)`, which must not throw.
   */
  call(send, early) {
    const id = this.#last = (this.#last + 1) >>> 0
    const outcome = new Promise((resolve) => this.#waiting.set(id, resolve))
    if (early !== undefined) this.#early.set(id, early)
    try {
      send(id)
    } catch (e) {
      this.#waiting.delete(id)
      this.#early.delete(id)
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
      if (n < -1) {
        const texts = batch.slice(i, i += -1 - n)
        this.#early.get(id)?.add(payload, texts)
        continue
      }
      const resolve = this.#waiting.get(id)
      this.#waiting.delete(id)
      this.#early.delete(id)
      // Early rows JS could not hold ended their call with that error; the rest comes to nobody.
      if (resolve === undefined) i += Math.max(n, 0)
      else if (n > 0) resolve({ meta: payload, texts: batch.slice(i, i += n), error: undefined })
      else if (n === 0) resolve({ error: payload })
      else resolve({ value: payload, error: undefined })
    }
  }
}

module.exports = { Delivery }
