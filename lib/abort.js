'use strict'
// AbortSignal support: a call given `signal` rejects as Node's own APIs do when it fires
// (`name: 'AbortError'`, `code: 'ABORT_ERR'`, `cause`: the signal's reason), at once when it has
// fired already; while the call runs, firing it reaches the engine, which gives up the wait or
// cancels the statement on the server.

const { clientError } = require('./errors')

/** Throws INVALID_ARGUMENT unless `signal` is undefined or an AbortSignal. */
function checkSignal(signal) {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal (got ${signal === null ? 'null' : typeof signal})`)
  }
}

/** `error` (a DatabaseError with code ABORT_ERR) dressed as Node's AbortError. */
function asAbortError(error, signal) {
  error.name = 'AbortError'
  error.cause = signal.reason
  return error
}

/** The AbortError of a call whose signal had fired before it started. */
function abortedBefore(signal, trace) {
  return asAbortError(clientError('ABORT_ERR', 'the call was aborted (its AbortSignal had fired) before it started; nothing was sent', trace), signal)
}

/**
 * `promise`, or an AbortError (message `what`) as soon as `signal` fires: the caller stops
 * waiting; `abandon(value)` then gets what `promise` resolves to later (to give it back).
 */
async function untilAborted(promise, signal, what, trace, abandon) {
  if (signal === undefined) return promise
  let stopWatching
  const aborted = new Promise((resolve) => { stopWatching = onAbort(signal, resolve) })
  const ABORTED = {}
  try {
    const first = await Promise.race([promise, aborted.then(() => ABORTED)])
    if (first !== ABORTED) return first
    promise.then(abandon, () => {})
    throw asAbortError(clientError('ABORT_ERR', what, trace), signal)
  } finally {
    stopWatching()
  }
}

/** Calls `handler` when `signal` fires, until the returned function is called. */
function onAbort(signal, handler) {
  if (signal === undefined) return () => {}
  signal.addEventListener('abort', handler, { once: true })
  return () => signal.removeEventListener('abort', handler)
}

/**
 * Starts a limited native call through `delivery`: `start(id)` makes the call, and the signal,
 * while the call runs, fires its abort in the engine (`native.abortCall(id)`).
 */
function limitedCall(delivery, native, signal, early, start) {
  let stopWatching = () => {}
  const outcome = delivery.call((id) => {
    start(id)
    stopWatching = onAbort(signal, () => native.abortCall(id))
  }, early)
  return signal === undefined ? outcome : outcome.finally(stopWatching)
}

module.exports = { checkSignal, asAbortError, abortedBefore, limitedCall, untilAborted, onAbort }
