'use strict'
// Streams of a query's rows (manager.stream, client.stream): an async iterable of row batches. The
// engine declares a cursor for the query (src/cursor.rs) and fetches `batchSize` rows each time
// the loop asks for a batch, so the server runs the query only as far as it has been read; the
// rows are query()'s (same parsers, same fields). Breaking out of the loop, an abort or an error
// ends the cursor and its transaction block on the server at once (src/client/stream.rs).

const { Readable } = require('node:stream')
const { fromNative, clientError } = require('./errors')
const { readResults, buildResult } = require('./rows')
const { queryArguments } = require('./query')
const { prepareValues, ValueError } = require('./values')
const { asAbortError, abortedBefore, onAbort, limitedCall } = require('./abort')
const { QueryParsers } = require('./types')

/** The default `batchSize`: pg-query-stream's. */
const BATCH_SIZE = 100
/** The most rows one fetch may ask for (the engine counts them in a u32; JS arrays hold 2^32 - 1). */
const MAX_BATCH_SIZE = 0x7fffffff
const DONE = Object.freeze({ value: undefined, done: true })

/** Reads rows for the pg-compatible module's cursors: `stream[kRead](n)`, a batch of `n`. */
const kRead = Symbol('read')

/**
 * Normalises stream(text, values?, options?) and stream({ text, values, …options }): the query's
 * arguments as query() takes them, and `batchSize`. Throws INVALID_ARGUMENT.
 */
function streamArguments(textOrConfig, values, options) {
  try {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new ValueError(`stream()'s options must be an object such as { batchSize: 1000 } (got ${options === null ? 'null' : typeof options})`)
    }
    const isConfig = textOrConfig !== null && typeof textOrConfig === 'object' && !Array.isArray(textOrConfig)
    const config = isConfig
      ? { ...textOrConfig, ...options, values: values ?? textOrConfig.values }
      : { ...options, text: textOrConfig, values }
    const args = queryArguments(config)
    const { batchSize = BATCH_SIZE } = config
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new ValueError(`batchSize must be a whole number of rows from 1 to ${MAX_BATCH_SIZE} (got ${batchSize})`)
    }
    return { ...args, values: prepareValues(args.values), batchSize }
  } catch (e) {
    if (e instanceof ValueError) throw clientError('INVALID_ARGUMENT', e.message)
    throw e
  }
}

/** A call's limit as the engine takes it (`JsLimit`), or undefined for the manager's default. */
function nativeLimit(limit) {
  return limit === undefined ? undefined : { timeoutMillis: limit.timeoutMillis, abortable: limit.signal !== undefined }
}

/**
 * The native calls of streams on `shared`'s pool, `open(id, text, values, limit)` starting the
 * native open (a manager's stream or a client's). Each resolves to a delivery outcome.
 */
function streamCalls({ native, delivery }, open) {
  const call = (limit, start) => limit?.signal === undefined
    ? delivery.call(start)
    : limitedCall(delivery, native, limit.signal, undefined, start)
  return {
    open: (text, values, limit) => call(limit, (id) => open(id, text, values, nativeLimit(limit))),
    fetch: (handle, rows, limit) => call(limit, (id) => native.streamFetch(handle, id, rows, nativeLimit(limit))),
    close: (handle, failed) => delivery.call((id) => native.streamClose(handle, id, failed)),
    drop: (handle) => native.dropStream(handle),
  }
}

/** Streams collected while open: the engine ends them as an early stop does (its block committed, a manager's connection back). */
const unreachable = new FinalizationRegistry((held) => {
  if (held.handle !== undefined) held.drop(held.handle)
})

/**
 * One stream. `calls` are its native calls (see streamCalls), `parsers` the manager's,
 * `args` from streamArguments; `hooks.ended()` runs once it has ended, `hooks.failed(error)`
 * with each error it rejects with.
 */
class RowStream {
  #calls
  #parsers
  #rowMode
  #batchSize
  #limit
  #signal
  #hooks
  /** Resolves to the stream's handle; rejects with the open's error. */
  #opened
  /** What the finalizer needs, without a reference to this stream. */
  #held
  /** Calls run one after another: each waits for this. */
  #tail = Promise.resolve()
  #done = false
  /** An abort that came between fetches, thrown by the next next(). */
  #aborted = undefined
  #stopWatching = () => {}
  /** The result's fields, once the first batch has come. */
  fields = undefined
  /** The rows of the whole query, once the last batch has come. */
  rowCount = null
  /** `'SELECT'` once the last batch has come. */
  command = null

  constructor(calls, parsers, args, hooks = {}) {
    this.#calls = calls
    this.#parsers = args.types === undefined ? parsers : new QueryParsers(args.types)
    this.#rowMode = args.rowMode
    this.#batchSize = args.batchSize
    this.#limit = args.limit
    this.#signal = args.limit?.signal
    this.#hooks = hooks
    this.#held = { drop: calls.drop, handle: undefined }
    if (this.#signal?.aborted) {
      this.#done = true
      this.#aborted = abortedBefore(this.#signal)
      this.#opened = Promise.reject(this.#aborted)
      this.#opened.catch(() => {})
      this.#finish()
      return
    }
    this.#opened = this.#open(args.text, args.values)
    // An open that fails rejects the first next(); never unhandled.
    this.#opened.catch(() => {})
    unreachable.register(this, this.#held, this.#held)
    this.#stopWatching = onAbort(this.#signal, () => {
      this.#aborted = asAbortError(clientError('ABORT_ERR', 'the stream was aborted (its AbortSignal fired): its cursor was closed and its transaction block ended on the server'), this.#signal)
      this.#queue(() => this.#stop(true)).catch(() => {})
    })
  }

  async #open(text, values) {
    const outcome = await this.#calls.open(text, values, this.#limit)
    if (outcome.error) {
      this.#done = true
      this.#finish()
      throw this.#failed(outcome.error)
    }
    this.#held.handle = outcome.value
    return outcome.value
  }

  /** The error of a native outcome, as the caller sees it. */
  #failed(data) {
    const error = fromNative(data)
    if (error.code === 'ABORT_ERR') asAbortError(error, this.#signal)
    this.#hooks.failed?.(error)
    return error
  }

  /** Once ended: the finalizer, the abort listener and the caller's hook let go. */
  #finish() {
    unreachable.unregister(this.#held)
    this.#held.handle = undefined
    this.#stopWatching()
    this.#hooks.ended?.()
    this.#hooks = {}
  }

  #queue(call) {
    const run = this.#tail.then(call)
    this.#tail = run.then(() => {}, () => {})
    return run
  }

  [Symbol.asyncIterator]() {
    return this
  }

  /** The next batch of rows (`{ value: rows, done: false }`), or `{ done: true }` after the last. */
  next() {
    return this.#queue(() => this.#next(this.#batchSize))
  }

  /** Stops the stream (a `break` out of `for await` calls it): its cursor is closed at once. */
  return() {
    return this.#queue(() => this.#stop(false)).then(() => DONE)
  }

  /** Stops the stream, as `return()`; resolves once its connection is clean (and back, for a manager's). */
  async close() {
    await this.return()
  }

  /** The next `n` rows, for the pg-compatible module's cursors. */
  [kRead](n) {
    return this.#queue(() => this.#next(n))
  }

  async #next(n) {
    if (this.#aborted !== undefined) {
      const aborted = this.#aborted
      this.#aborted = undefined
      throw aborted
    }
    if (this.#done) return DONE
    const handle = await this.#opened
    const outcome = await this.#calls.fetch(handle, n, this.#limit)
    if (outcome.error) {
      // The engine ended the stream before it answered: rolled back, its connection clean.
      this.#done = true
      this.#finish()
      this.#aborted = undefined
      throw this.#failed(outcome.error)
    }
    const [result] = readResults(outcome.meta, outcome.texts, this.#parsers)
    this.fields ??= result.fields
    if (result.flags & 1) {
      this.#done = true
      this.command = result.command
      this.rowCount = result.rowCount
      this.#finish()
      if (result.n === 0) return DONE
    }
    return { value: buildResult(result, this.#rowMode).rows, done: false }
  }

  async #stop(failed) {
    if (this.#done) return
    this.#done = true
    let handle
    try {
      handle = await this.#opened
    } catch {
      return
    }
    const outcome = await this.#calls.close(handle, failed)
    this.#finish()
    if (outcome.error) throw this.#failed(outcome.error)
  }

  /**
   * The rows as a `Readable` in object mode, one row per chunk, fetched a batch at a time as the
   * readable's buffer empties (its `highWaterMark` is `batchSize`); destroying it stops the stream.
   */
  readable() {
    const stream = this
    let reading = false
    return new Readable({
      objectMode: true,
      highWaterMark: this.#batchSize,
      read() {
        if (reading) return
        reading = true
        stream.next().then(({ value, done }) => {
          reading = false
          if (done) {
            this.push(null)
            return
          }
          for (const row of value) this.push(row)
        }, (e) => this.destroy(e))
      },
      destroy(error, callback) {
        stream.#queue(() => stream.#stop(error != null)).then(() => callback(error), (e) => callback(error ?? e))
      },
    })
  }
}

module.exports = { RowStream, streamArguments, streamCalls, kRead }
