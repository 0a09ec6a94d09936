'use strict'
// The client of getClient() and of executeTransaction: queries run on one connection in the
// order they were called, and release() gives the connection back (rolled back first if a
// transaction is open, which native code knows without asking the server). After release every
// call refuses with CLIENT_RELEASED.

const { captureTrace, clientError, fromNative } = require('./errors')
const { runQuery } = require('./query')
const { buildResult } = require('./rows')
const { holds, newHold, enterHold } = require('./hold')
const { limitedCall } = require('./abort')
const { CopyFromStream, CopyToStream, copyArguments, copyStream, failedStream } = require('./copy')
const { RowStream, streamArguments, streamCalls } = require('./stream')

/** Members executeTransaction uses; not part of the public client. */
const kCommit = Symbol('commit')
const kAbort = Symbol('abort')
const kFinish = Symbol('finish')
/** The release pg-rust-pool/pg's clients use; not part of the public client. */
const kLetGo = Symbol('letGo')

const ignore = () => {}

/** What #released is after kLetGo, which learns nothing. */
const NOT_LOST = Promise.resolve(false)

/** A release's outcome: whether a transaction was open and did not survive. */
const lostTransaction = (outcome) => outcome.value === 1

/**
 * A plain BEGIN, which a client sends with its next query rather than on its own (see #defer):
 * with no options it cannot fail but where that query would fail too (a dead connection, an
 * aborted block), so the query never runs outside the transaction it asked for.
 */
const PLAIN_BEGIN = /^\s*(?:begin|start\s+transaction)\s*;?\s*$/i

class Client {
  /** The native pool, and this client's handle there. */
  #native
  #handle
  #delivery
  #parsers
  #leaks
  #lease
  /** Native calls run one after another: each waits for this, then becomes it. */
  #tail = Promise.resolve()
  /** Native calls started by #turn and not settled yet. */
  #pending = 0
  /** Set at release: resolves to whether a transaction was open and did not survive. */
  #released = null
  /** Set when the transaction timed out: what every failure becomes. */
  #timedOut = null
  /** Whether this is a transaction's client (see #failed). */
  #transaction
  /** A plain BEGIN asked for and not sent yet: it goes with the next query. */
  #begin = null
  /** The latest server error of a query, other than "the transaction is aborted" (25P02). */
  #failure = undefined
  /** The stream of a COPY on this client that has not closed yet. */
  #copying = null

  constructor(shared, handle, lease, transaction) {
    this.#native = shared.native
    this.#handle = handle
    this.#delivery = shared.delivery
    this.#parsers = shared.parsers
    this.#leaks = shared.leaks
    this.#lease = lease
    this.#transaction = transaction
    shared.leaks.watch(this, lease)
  }

  /**
   * The server process id of this client's connection (pg's `processID`); null before a
   * transaction's first query checks its connection out, and after release().
   */
  get processID() {
    return this.#released === null ? this.#native.clientPid(this.#handle) || null : null
  }

  /** Runs a query on this client's connection, after the queries called before it. */
  query(textOrConfig, values) {
    if (this.#defers(textOrConfig, values)) return this.#defer(textOrConfig)
    if (this.#released !== null) {
      const rejected = Promise.reject(this.#releasedError())
      // A transaction's query never becomes an unhandled rejection (see #failed).
      if (this.#transaction) rejected.catch(ignore)
      return rejected
    }
    if (!this.#transaction) return runQuery(this.#send, this.#parsers, textOrConfig, values)
    let promise
    const failed = (e) => {
      queueMicrotask(() => promise.catch(ignore))
      return this.#failed(e)
    }
    promise = runQuery(this.#send, this.#parsers, textOrConfig, values, failed)
    return promise
  }

  /**
   * What a transaction's failed query rejects with: a timeout replaces its failure, and a server
   * error is kept as what may have aborted the transaction. The query never becomes an unhandled
   * rejection: a callback may not await its queries, and executeTransaction reports the failure
   * that aborted it instead. The handler that says so is attached only once the query has failed,
   * in a microtask (before Node looks for unhandled rejections): V8 follows a promise for the
   * async stack trace only while it has one handler, the caller's await.
   */
  #failed(e) {
    if (this.#timedOut !== null) return again(this.#timedOut)
    if (e.severity !== undefined && e.code !== '25P02') this.#failure = e
    return e
  }

  /** `COPY … FROM STDIN` on this client's connection, after its earlier queries: a Writable. */
  copyFrom(sql, options) {
    return this.#copy(CopyFromStream, 'copyFrom()', sql, options, captureTrace(this.copyFrom),
      (id, begin) => this.#native.clientCopy(this.#handle, id, sql, false, begin))
  }

  /** `COPY … TO STDOUT` on this client's connection, after its earlier queries: a Readable. */
  copyTo(sql, options) {
    return this.#copy(CopyToStream, 'copyTo()', sql, options, captureTrace(this.copyTo),
      (id, begin) => this.#native.clientCopy(this.#handle, id, sql, true, begin))
  }

  /**
   * A COPY's stream. The COPY takes the client's turn until its stream is over, so queries made
   * after it wait for it; a plain BEGIN not sent yet goes first. In a transaction, its server
   * error is what executeTransaction reports, as a query's is.
   */
  #copy(Stream, call, sql, options, trace, start) {
    const { highWaterMark, signal } = copyArguments(call, sql, options, trace)
    if (this.#released !== null) return failedStream(Stream, this.#releasedError(trace))
    const begin = this.#begin
    this.#begin = null
    const failed = this.#transaction
      ? (e) => { if (e.severity !== undefined && e.code !== '25P02') this.#failure = e }
      : undefined
    const stream = copyStream(Stream, {
      delivery: this.#delivery, native: this.#native, trace, highWaterMark, signal, failed,
      start: (id) => start(id, begin), schedule: (run) => this.#turn(run),
    })
    this.#copying = stream
    stream.once('close', () => { if (this.#copying === stream) this.#copying = null })
    return stream
  }

  /**
   * Stops a COPY whose stream was neither ended nor destroyed when the client is released or its
   * transaction commits: the calls after it wait for it, and would wait for ever. Returns the
   * stream's error, or undefined when there was nothing to stop.
   */
  #stopCopy(message) {
    const stream = this.#copying
    if (stream === null || stream.destroyed || stream.writableEnded || stream.readableEnded) return undefined
    const error = clientError('CLIENT_RELEASED', message)
    stream.destroy(error)
    return error
  }

  /**
   * A stream of a query's rows on this client's connection, after the calls before it (see
   * manager.stream): in the client's transaction when one is open, else in a block of its own.
   */
  stream(textOrConfig, values, options) {
    const args = streamArguments(textOrConfig, values, options)
    const native = this.#native
    const calls = streamCalls({ native, delivery: this.#delivery }, (id, text, values, limit) => {
      native.clientStream(this.#handle, id, text, values, this.#takeBegin(limit), limit)
    })
    const inTurn = (call) => (...args) => this.#turn(() => call(...args))
    const turns = { open: inTurn(calls.open), fetch: inTurn(calls.fetch), close: inTurn(calls.close), drop: calls.drop }
    const failed = (e) => {
      if (this.#transaction && e.severity !== undefined && e.code !== '25P02') this.#failure = e
    }
    return new RowStream(turns, this.#parsers, args, { failed })
  }

  /**
   * The plain BEGIN waiting to go out with the next statement, taken; with a `limit`, sent now on
   * its own instead (a limited call's cancel must not meet it), and null returned.
   */
  #takeBegin(limit) {
    const begin = this.#begin
    this.#begin = null
    if (begin === null || limit === undefined) return begin
    this.#delivery.call((id) => this.#native.clientQuery(this.#handle, id, begin, [], null))
    return null
  }

  /**
   * Gives the connection back; `release(true)` or `release(error)` closes it instead. A second
   * call throws CLIENT_RELEASED. Resolves once the connection is back (or closed).
   */
  release(err) {
    const trace = captureTrace(this.release)
    if (this.#released !== null) throw this.#releasedError(trace)
    return this.#release(Boolean(err)).then(ignore)
  }

  /** Whether this query is a plain BEGIN to send with the next query (not a transaction's client). */
  #defers(textOrConfig, values) {
    return typeof textOrConfig === 'string' && !this.#transaction && this.#released === null && this.#begin === null &&
      (values === undefined || (Array.isArray(values) && values.length === 0)) && PLAIN_BEGIN.test(textOrConfig)
  }

  /**
   * Keeps a plain BEGIN to go out in the same round trip as the next query (as a transaction's
   * first statement does), and answers it now as the server would: pg-style code that awaits
   * `BEGIN` before its first statement saves a round trip and a call into the engine.
   */
  #defer(text) {
    this.#begin = text
    const command = /^\s*start/i.test(text) ? 'START' : 'BEGIN'
    return Promise.resolve(buildResult({ flags: 1, command, rowCount: 0, n: 0, fields: [], columns: [] }))
  }

  #send = (text, values, early, limit) => {
    const begin = this.#begin
    this.#begin = null
    if (limit === undefined) {
      return this.#turn(() => this.#delivery.call((id) => this.#native.clientQuery(this.#handle, id, text, values, begin), early))
    }
    // A limited query's cancel must not meet a BEGIN on its way: that goes first, on its own.
    if (begin !== null) this.#turn(() => this.#delivery.call((id) => this.#native.clientQuery(this.#handle, id, begin, [], null)))
    return this.#sendLimited(text, values, early, limit)
  }

  /**
   * A query with `timeoutMillis` or `signal`. Its timeout counts from this call: the time it
   * waits for the client's earlier queries is taken off what the engine is given, and one whose
   * time (or signal) ran out before its turn came is not sent at all.
   */
  #sendLimited(text, values, early, { timeoutMillis, signal }) {
    const called = Date.now()
    return this.#turn(() => {
      let left = timeoutMillis
      if (timeoutMillis > 0) {
        left = timeoutMillis - (Date.now() - called)
        if (left <= 0) return Promise.resolve({ error: { code: 'QUERY_TIMEOUT', message: `the query did not get its turn on the client within its timeout (${timeoutMillis} ms); nothing was sent` } })
      }
      if (signal?.aborted) return Promise.resolve({ error: { code: 'ABORT_ERR', message: 'the call was aborted (its AbortSignal fired) while it waited for its turn on the client; nothing was sent' } })
      return limitedCall(this.#delivery, this.#native, signal, early,
        (id) => this.#native.clientQueryLimited(this.#handle, id, text, values, { timeoutMillis: left, abortable: signal !== undefined }))
    })
  }

  /**
   * Runs `call` once the native calls before it have settled: at once when none is pending (the
   * usual case, awaited queries one after another), which saves a promise and two microtasks.
   */
  #turn(call) {
    const run = this.#pending === 0 ? startNow(call) : this.#tail.then(call)
    this.#pending += 1
    this.#tail = run.then(this.#settled, this.#settled)
    return run
  }

  #settled = () => {
    this.#pending -= 1
  }

  #end() {
    this.#lease.hold.released()
    this.#leaks.forget(this.#lease)
  }

  /** The JS side of a release, before the engine's. */
  #letGo() {
    // A BEGIN not sent yet opened nothing on the server.
    this.#begin = null
    this.#stopCopy('the client was released while a COPY on it was open: the COPY was stopped, and nothing it loaded stays; end its stream (and wait for \'finish\') first')
    this.#end()
  }

  #release(destroy) {
    this.#letGo()
    this.#released = this.#turn(() => this.#delivery.call((id) => this.#native.clientRelease(this.#handle, id, destroy)))
      .then(lostTransaction)
    return this.#released
  }

  /**
   * release() for pg-rust-pool/pg, whose callers learn nothing from it (pg's release() returns
   * nothing): no promise, and no outcome crosses back to JS. Throws CLIENT_RELEASED as release()
   * does.
   */
  [kLetGo](destroy) {
    if (this.#released !== null) throw this.#releasedError(captureTrace(this[kLetGo]))
    this.#letGo()
    this.#released = NOT_LOST
    const release = () => this.#native.clientReleaseQuietly(this.#handle, destroy)
    // After the calls JS has not handed to the engine yet, which would find the handle gone.
    if (this.#pending === 0) release()
    else this.#tail.then(release)
  }

  #releasedError(trace) {
    if (this.#timedOut !== null) return again(this.#timedOut, trace)
    return clientError('CLIENT_RELEASED', 'the client was released: get a new one with getClient() for more queries', trace)
  }

  /**
   * Commits and releases (executeTransaction), in one native call: rejects with the failure that
   * aborted the transaction, with COMMIT's own error (the connection is then rolled back or
   * closed), or with CLIENT_RELEASED when the callback released the client while the transaction
   * was open. A transaction the callback ended by hand stays as it ended it.
   */
  async [kCommit](trace) {
    if (this.#released !== null) {
      if (await this.#released) {
        throw clientError('CLIENT_RELEASED', 'the transaction\'s client was released inside the callback while the transaction was open, so it was rolled back: let executeTransaction release it', trace)
      }
      return
    }
    const stopped = this.#stopCopy('executeTransaction\'s callback returned while a COPY on its client was open: the COPY was stopped and the transaction rolled back; await the stream (pipeline, or \'finish\') in the callback')
    if (stopped !== undefined) {
      // Nothing is committed: releasing the client rolls the transaction back.
      await this.#release(false)
      throw stopped
    }
    this.#end()
    const committed = this.#turn(() => this.#delivery.call((id) => this.#native.clientCommitAndRelease(this.#handle, id)))
    // Whatever COMMIT did, the connection is back once this settles; nothing is left to report.
    this.#released = committed.then(() => false, () => false)
    const outcome = await committed
    if (outcome.error) {
      if (outcome.error.code === '25P02' && this.#failure !== undefined) throw this.#failure
      throw fromNative(outcome.error, trace)
    }
  }

  /**
   * Ends the client now (timeoutMillis): cancels what runs, rolls back, releases; also when the
   * callback's own release() still waits behind a running statement.
   */
  [kAbort](timeoutError) {
    this.#timedOut = timeoutError
    const aborted = this.#native.clientAbort(this.#handle)
    if (this.#released === null) {
      this.#end()
      this.#released = aborted
    }
    return aborted
  }

  /** Releases the client unless the callback (or kCommit) did; never rejects. */
  async [kFinish]() {
    await (this.#released ?? this.#release(false))
  }
}

/** `call()`'s promise, or a rejected one if it throws (as inside a `then`). */
function startNow(call) {
  try {
    return call()
  } catch (e) {
    return Promise.reject(e)
  }
}

/** The same client error anew, its stack starting at `trace`. */
function again(error, trace) {
  return clientError(error.code, error.message, trace)
}

/**
 * Checks out a client for `hold`; when the caller already holds a client of this manager, only a
 * connection free now will do (POOL_DEADLOCK otherwise). `what` names the caller in leak warnings.
 */
async function checkout(shared, hold, trace, what) {
  const wait = !holds(shared.manager)
  const outcome = await shared.delivery.call((id) => shared.native.checkout(id, wait))
  if (outcome.error) {
    hold.released()
    throw fromNative(outcome.error, trace)
  }
  return held(shared, hold, outcome.value, { trace, what }, false)
}

/**
 * A transaction's client for `hold`, at once (or POOL_CLOSED): its first query checks out the
 * connection, in the same native call, and sends `begin` before it. As for checkout(), a caller
 * that already holds a client of this manager gets a connection free then or POOL_DEADLOCK.
 */
function transactionClient(shared, hold, trace, begin) {
  const handle = shared.native.transaction(!holds(shared.manager), begin)
  if (typeof handle !== 'number') {
    hold.released()
    throw fromNative(handle, trace)
  }
  return held(shared, hold, handle, { trace, what: 'executeTransaction()' }, true)
}

/** The client under `handle`, which `hold` now holds. */
function held(shared, hold, handle, { trace, what }, transaction) {
  hold.held()
  return new Client(shared, handle, { trace, hold, what, handle }, transaction)
}

/** getClient(): the calling context holds the client until release(). */
function getClient(shared, trace) {
  const hold = newHold(shared.manager)
  enterHold(hold)
  return checkout(shared, hold, trace, 'getClient()')
}

module.exports = { Client, getClient, transactionClient, kCommit, kAbort, kFinish, kLetGo }
