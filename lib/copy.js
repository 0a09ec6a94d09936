'use strict'
// COPY … FROM STDIN as a Writable and COPY … TO STDOUT as a Readable (src/copy/). A COPY holds
// its connection until its stream is over: the native call that starts it settles, through the
// delivery, once the COPY has ended and the connection is back (or closed). Meanwhile the stream
// hands its data to the engine, or takes it from there, one batch per native call: a write waits
// while the engine holds a few batches already, and a read is made only when the stream's buffer
// wants more, so memory stays bounded by the stream's highWaterMark and the engine's few
// batches, whatever the size of the data.

const { Writable, Readable, addAbortSignal } = require('node:stream')
const { fromNative, clientError } = require('./errors')
const { checkSignal } = require('./abort')

/** The streams' buffer by default: the chunk size of fs.createReadStream. */
const HIGH_WATER_MARK = 64 * 1024
const OPTIONS = new Set(['highWaterMark', 'signal'])

/** `sql` and `options` of copyFrom/copyTo, or throws INVALID_ARGUMENT. */
function copyArguments(call, sql, options, trace) {
  const invalid = (message) => clientError('INVALID_ARGUMENT', message, trace)
  if (typeof sql !== 'string') throw invalid(`${call} takes the COPY statement as a string (got ${sql === null ? 'null' : typeof sql})`)
  if (options === undefined || options === null) return { highWaterMark: HIGH_WATER_MARK, signal: undefined }
  if (typeof options !== 'object') throw invalid(`${call}'s options must be an object (got ${typeof options})`)
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw invalid(`unknown ${call} option \`${key}\`: use ${[...OPTIONS].join(', ')}`)
  }
  const { highWaterMark = HIGH_WATER_MARK, signal } = options
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
    throw invalid(`\`highWaterMark\` must be a whole number of bytes ≥ 1 (got ${highWaterMark})`)
  }
  try {
    checkSignal(signal)
  } catch (e) {
    throw invalid(e.message)
  }
  return { highWaterMark, signal }
}

/**
 * What both streams share: the COPY's start, in its turn (`schedule(run)`: at once for the
 * manager, after the client's earlier calls for a client, and before its later ones), its handle,
 * and its outcome. `started` resolves once the native call is made (or rejects if it could not
 * be); `onError` hears of a COPY that failed.
 */
class Copy {
  handle = undefined
  /** The native call's outcome ({ value } or { error }), once the COPY has started. */
  outcome = undefined
  settled = false
  onError = undefined

  constructor({ delivery, native, start, schedule, trace, failed }) {
    this.native = native
    this.delivery = delivery
    this.trace = trace
    this.failed = failed
    this.started = new Promise((resolve, reject) => schedule(() => {
      try {
        this.outcome = delivery.call((id) => { this.handle = start(id) })
      } catch (e) {
        reject(e)
        return Promise.resolve()
      }
      this.outcome.then((outcome) => {
        this.settled = true
        if (outcome.error) this.onError(this.error(outcome.error))
      })
      resolve()
      return this.outcome
    }))
  }

  /** Ties `stream` to this COPY: `signal` destroys it, and `onError` hears of a failed COPY. */
  bind(stream, signal, onError) {
    if (signal !== undefined) addAbortSignal(signal, stream)
    this.onError = onError
  }

  /** A stream's `_construct`: done once the COPY has started, in its turn. */
  construct(callback) {
    this.started.then(() => callback(), callback)
  }

  error(data) {
    const error = fromNative(data, this.trace)
    this.failed?.(error)
    return error
  }

  /** Stops a COPY still running; calls `done()` once it is over and its connection back. */
  stop(done) {
    if (this.outcome === undefined || this.settled) return done()
    this.native.copyAbort(this.handle)
    this.outcome.then(() => done())
  }
}

/** `copyFrom()`: what is written goes to the server; 'finish' once the server has it all. */
class CopyFromStream extends Writable {
  /** The rows the server loaded, once 'finish' has fired (as pg-copy-streams' rowCount). */
  rowCount = null
  #copy
  #finishing = false

  constructor(copy, { highWaterMark, signal }) {
    super({ highWaterMark })
    this.#copy = copy
    // A failure while finishing is _final's to report.
    copy.bind(this, signal, (error) => this.#finishing || this.destroy(error))
  }

  _construct(callback) {
    this.#copy.construct(callback)
  }

  _write(chunk, encoding, callback) {
    this.#send(chunk, callback)
  }

  _writev(chunks, callback) {
    // What was written while the last batch went: one native call for all of it.
    this.#send(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback)
  }

  #send(data, callback) {
    const { delivery, native, handle } = this.#copy
    delivery.call((id) => native.copyWrite(handle, id, data)).then(() => callback())
  }

  _final(callback) {
    const copy = this.#copy
    this.#finishing = true
    copy.native.copyFinish(copy.handle)
    copy.outcome.then((outcome) => {
      if (outcome.error) return callback(copy.error(outcome.error))
      this.rowCount = outcome.value
      callback()
    })
  }

  _destroy(error, callback) {
    this.#copy.stop(() => callback(error))
  }
}

/** `copyTo()`: the server's data, read from the connection as fast as it is consumed. */
class CopyToStream extends Readable {
  #copy
  #reading = false

  constructor(copy, { highWaterMark, signal }) {
    super({ highWaterMark })
    this.#copy = copy
    copy.bind(this, signal, (error) => this.destroy(error))
  }

  _construct(callback) {
    this.#copy.construct(callback)
  }

  _read() {
    if (this.#reading) return
    this.#reading = true
    const { delivery, native, handle } = this.#copy
    delivery.call((id) => native.copyRead(handle, id)).then((outcome) => {
      this.#reading = false
      if (outcome.value !== undefined) this.push(Buffer.from(outcome.value))
      else this.#end()
    })
  }

  /** All the data has come: the stream ends once the COPY has succeeded. */
  #end() {
    const copy = this.#copy
    copy.native.copyFinish(copy.handle)
    copy.outcome.then((outcome) => {
      if (!outcome.error) this.push(null)
    })
  }

  _destroy(error, callback) {
    this.#copy.stop(() => callback(error))
  }
}

/** A stream of `Stream` for the COPY that `start(id)` begins in `schedule`'s turn. */
function copyStream(Stream, settings) {
  const { highWaterMark, signal } = settings
  return new Stream(new Copy(settings), { highWaterMark, signal })
}

/** A stream of `Stream` that fails with `error` (a released client's) as it starts. */
function failedStream(Stream, error) {
  const refuse = { call: () => { throw error } }
  return new Stream(new Copy({ delivery: refuse, schedule: (run) => run() }), { highWaterMark: HIGH_WATER_MARK })
}

module.exports = { CopyFromStream, CopyToStream, copyArguments, copyStream, failedStream }
