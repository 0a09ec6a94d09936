'use strict'
// executeTransaction: BEGIN with the options, the callback (or a list of queries) on the
// transaction's client, COMMIT. Any failure rolls back and rejects with the original error,
// the same object; serialization failures and deadlocks are retried with jittered backoff, and
// `timeoutMillis` cancels the running statement, rolls back and rejects with TRANSACTION_TIMEOUT.

const { clientError } = require('./errors')
const { newHold, runHolding } = require('./hold')
const { checkSignal, asAbortError, abortedBefore, onAbort } = require('./abort')
const { transactionClient, kCommit, kAbort, kFinish } = require('./client')

const ISOLATION_LEVELS = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
}
const OPTIONS = new Set(['isolationLevel', 'readOnly', 'deferrable', 'retries', 'timeoutMillis', 'signal'])
/** serialization_failure and deadlock_detected: the server asks the client to try again. */
const RETRYABLE = new Set(['40001', '40P01'])
/** Backoff before retry n: a random wait up to min(CAP, BASE · 2^n) ms ("full jitter"). */
const BACKOFF_BASE_MS = 50
const BACKOFF_CAP_MS = 2000
/** The longest delay Node's timers take. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

class ArgumentError extends Error {}

function describe(value) {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

/** The BEGIN statement, retries and timeout from `options`, or throws ArgumentError. */
function transactionOptions(options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(`executeTransaction's options must be an object (got ${describe(options)})`)
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) {
      throw new ArgumentError(`unknown executeTransaction option \`${key}\`: use ${[...OPTIONS].join(', ')}`)
    }
  }
  const { isolationLevel, readOnly, deferrable, retries = 0, timeoutMillis = 0, signal } = options
  let begin = 'BEGIN'
  if (isolationLevel !== undefined) {
    const level = typeof isolationLevel === 'string' && ISOLATION_LEVELS[isolationLevel.toLowerCase()]
    if (!level) {
      throw new ArgumentError(`\`isolationLevel\` must be 'read committed', 'repeatable read' or 'serializable' (got ${describe(isolationLevel)})`)
    }
    begin += ` ISOLATION LEVEL ${level}`
  }
  for (const [name, value, yes, no] of [['readOnly', readOnly, 'READ ONLY', 'READ WRITE'], ['deferrable', deferrable, 'DEFERRABLE', 'NOT DEFERRABLE']]) {
    if (value === undefined) continue
    if (typeof value !== 'boolean') throw new ArgumentError(`\`${name}\` must be true or false (got ${describe(value)})`)
    begin += ` ${value ? yes : no}`
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new ArgumentError(`\`retries\` must be an integer ≥ 0 (got ${describe(retries)})`)
  }
  if (!Number.isInteger(timeoutMillis) || timeoutMillis < 0 || timeoutMillis > MAX_TIMEOUT_MS) {
    throw new ArgumentError(`\`timeoutMillis\` must be a whole number of milliseconds from 0 to ${MAX_TIMEOUT_MS} (got ${describe(timeoutMillis)})`)
  }
  try {
    checkSignal(signal)
  } catch (e) {
    throw new ArgumentError(e.message)
  }
  return { begin, retries, timeoutMillis, signal }
}

/** The callback for the list form: each query in order, resolving to their results. */
function listCallback(list) {
  list.forEach((item, i) => {
    if (typeof item !== 'string' && (item === null || typeof item !== 'object' || typeof item.text !== 'string')) {
      throw new ArgumentError(`executeTransaction's list item [${i}] must be { text, values } or a string (got ${item === null ? 'null' : typeof item})`)
    }
  })
  return async (client) => {
    const results = []
    for (const item of list) results.push(await client.query(item))
    return results
  }
}

/**
 * The callback's promise, or a rejected one if it throws: what an async arrow around it gave,
 * with fewer promises (with AsyncLocalStorage on, each costs a few hooks; see lib/hold.js).
 */
function callback(fn, client) {
  try {
    return Promise.resolve(fn(client))
  } catch (e) {
    return Promise.reject(e)
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const TIMED_OUT = Symbol('timed out')
const ABORTED = Symbol('aborted')

/**
 * One attempt: the callback, COMMIT; the client is always released. The callback's first query
 * checks out the connection, in the same native call (a checkout of its own was a quarter of a
 * W4 transaction's calls into the engine), and sends BEGIN before itself, in the same round trip;
 * a callback that runs none takes no connection and sends neither BEGIN nor COMMIT.
 */
async function attempt(shared, trace, fn, begin, timeoutMillis, signal) {
  const hold = newHold(shared.manager)
  const client = transactionClient(shared, hold, trace, begin)
  let timer
  let committing = false
  let stopWatching = () => {}
  try {
    let work = runHolding(hold, callback, fn, client)
    const limits = []
    if (timeoutMillis > 0) limits.push(new Promise((resolve, reject) => { timer = setTimeout(reject, timeoutMillis, TIMED_OUT) }))
    if (signal !== undefined) limits.push(new Promise((resolve, reject) => { stopWatching = onAbort(signal, () => reject(ABORTED)) }))
    if (limits.length > 0) work = Promise.race([work, ...limits])
    let value
    try {
      value = await work
    } catch (e) {
      if (e !== TIMED_OUT && e !== ABORTED) throw e
      // The same end either way: the running statement cancelled, the transaction rolled back.
      const stopped = e === TIMED_OUT
        ? clientError('TRANSACTION_TIMEOUT', `the transaction ran longer than timeoutMillis (${timeoutMillis} ms), waiting for a connection included: its running statement was cancelled and it was rolled back; make it faster or raise timeoutMillis`, trace)
        : asAbortError(clientError('ABORT_ERR', 'the transaction was aborted (its AbortSignal fired): its running statement was cancelled and it was rolled back', trace), signal)
      await client[kAbort](stopped)
      throw stopped
    }
    clearTimeout(timer)
    stopWatching()
    // Once kCommit settles the connection is back, whatever it did: no kFinish to wait for.
    committing = true
    await client[kCommit](trace)
    return value
  } finally {
    clearTimeout(timer)
    stopWatching()
    if (!committing) await client[kFinish]()
  }
}

/**
 * getPoolStatistics().transactionsExecuted: counted here, and handed to native code only when the
 * statistics are read (a native call per transaction was 1.3 % of W4's instructions).
 */
class TransactionCount {
  #native
  #unreported = 0

  constructor(native) {
    this.#native = native
  }

  count() {
    // Well before the native call's u32 argument would overflow.
    if (++this.#unreported === 2 ** 30) this.report()
  }

  /** Adds the transactions counted so far to the native statistics. */
  report() {
    if (this.#unreported === 0) return
    this.#native.countTransactions(this.#unreported)
    this.#unreported = 0
  }
}

/** executeTransaction(work, options): see the README. */
async function executeTransaction(shared, trace, work, options) {
  let settings
  let fn = work
  try {
    settings = transactionOptions(options)
    if (Array.isArray(work)) fn = listCallback(work)
    else if (typeof work !== 'function') {
      throw new ArgumentError(`executeTransaction needs a callback (client) => … or a list of queries (got ${work === null ? 'null' : typeof work})`)
    }
  } catch (e) {
    if (e instanceof ArgumentError) throw clientError('INVALID_ARGUMENT', e.message, trace)
    throw e
  }
  const { begin, retries, timeoutMillis, signal } = settings
  if (signal?.aborted) throw abortedBefore(signal, trace)
  try {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(shared, trace, fn, begin, timeoutMillis, signal)
      } catch (e) {
        if (retry >= retries || !RETRYABLE.has(e?.code)) throw e
        await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry))
      }
    }
  } finally {
    // getPoolStatistics().transactionsExecuted: one per call, committed or rolled back.
    shared.transactions.count()
  }
}

module.exports = { executeTransaction, TransactionCount }
