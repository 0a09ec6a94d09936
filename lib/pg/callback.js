'use strict'
// node-postgres' two call styles: a promise, or a Node-style callback (then nothing is returned).

/**
 * `promise` itself without `callback`; with it, calls `callback(null, ...spread(value))` or
 * `callback(error)` and returns undefined.
 */
function withCallback(promise, callback, spread = (value) => [value]) {
  if (typeof callback !== 'function') return promise
  promise.then((value) => callback(null, ...spread(value)), (error) => callback(error))
  return undefined
}

module.exports = { withCallback }
