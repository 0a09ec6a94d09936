'use strict'
// pg-cursor and pg-query-stream on the pg-compatible module: `client.query(new Cursor(text,
// values))` and `client.query(new QueryStream(text, values, { batchSize }))` return the
// submittable, as pg does, and this drives it from a native stream (lib/stream.js) through the
// methods its users call: a Cursor's `read(n, cb?)` and `close(cb?)` (which QueryStream's
// `_read` and `_destroy` call), its `row`, `end` and `error` events, and QueryStream's
// `callback`. pg would drive it by calling its protocol handlers with each message of a named
// portal; here nothing speaks the protocol in JS, so the cursor's own read and close give way to
// the stream's, which fetch the rows pg-cursor would ask for, with the engine's decoding.

const { kRead } = require('../stream')
const { asPg } = require('./errors')

/** Whether `submittable` is a pg-cursor Cursor (or one built like it). */
function isCursor(submittable) {
  return typeof submittable?.read === 'function' && typeof submittable.close === 'function' &&
    typeof submittable.handlePortalSuspended === 'function' && typeof submittable.text === 'string'
}

/** The cursor a submittable reads through: itself, or pg-query-stream's `cursor`. */
function cursorOf(submittable) {
  if (isCursor(submittable)) return submittable
  if (isCursor(submittable?.cursor) && typeof submittable.pipe === 'function') return submittable.cursor
  return undefined
}

/**
 * Drives `submittable` (see cursorOf) from `open(config)`, which opens a stream of a query config
 * (`{ text, values, rowMode, types }`) on the client or pool, or resolves to one; `types` are the
 * parsers of queries that give none. Returns the submittable.
 */
function drive(submittable, open, types) {
  const cursor = cursorOf(submittable)
  const conf = cursor._conf ?? {}
  const result = cursor._result
  const opening = Promise.resolve().then(() => open({
    text: cursor.text,
    values: cursor.values ?? [],
    rowMode: conf.rowMode === 'array' ? 'array' : undefined,
    types: conf.types ?? types,
  }))
  // An open that fails rejects the first read, as pg-cursor's reads get the error of its query.
  opening.catch(() => {})
  cursor.state = 'idle'
  let ended = false
  let failure = null

  const fail = (error, cb) => {
    failure = asPg(error)
    cursor.state = 'error'
    cb(failure)
    if (cursor.listenerCount('error') > 0) cursor.emit('error', failure)
  }

  cursor.read = function read(rows, cb) {
    let promise
    if (typeof cb !== 'function') {
      promise = new Promise((resolve, reject) => {
        cb = (err, rows) => (err ? reject(err) : resolve(rows))
      })
    }
    if (failure !== null) {
      const error = failure
      setImmediate(() => cb(error))
    } else if (ended) {
      setImmediate(() => cb(null, [], result))
    } else {
      cursor.state = 'busy'
      opening.then((stream) => stream[kRead](rows).then(({ value, done }) => {
        const batch = done ? [] : value
        if (stream.fields !== undefined && result.fields.length === 0) result.fields = stream.fields
        result.rows = batch
        if (cursor.listenerCount('row') > 0) for (const row of batch) cursor.emit('row', row, result)
        if (stream.command !== null && !ended) {
          ended = true
          cursor.state = 'done'
          // pg's count is the tag of the portal's last Execute: the rows of the last read.
          result.command = stream.command
          result.rowCount = batch.length
          // pg-cursor emits `end` before the last read's callback.
          cursor.emit('end', result)
        } else if (!ended) {
          cursor.state = 'idle'
        }
        cb(null, batch, result)
      })).catch((error) => fail(error, cb))
    }
    return promise
  }

  cursor.close = function close(cb) {
    let promise
    if (typeof cb !== 'function') {
      promise = new Promise((resolve, reject) => {
        cb = (err) => (err ? reject(err) : resolve())
      })
    }
    const closing = ended ? Promise.resolve() : opening.then((stream) => stream.close(), () => {})
    ended = true
    cursor.state = 'done'
    closing.then(() => cb(), (error) => cb(asPg(error)))
    return promise
  }
  return submittable
}

module.exports = { drive, cursorOf }
