'use strict'
// LISTEN/NOTIFY for a manager. The engine keeps one connection for every channel listened
// (src/listen/), reconnects it and listens again when it is lost; here each channel keeps its
// callbacks, so that several callbacks on one channel share one LISTEN, and the last one to go
// sends UNLISTEN. Notifications arrive in batches of columns (src/notifications.rs) and become
// pg's `{ channel, payload, processId }`. A callback that throws (or rejects) is reported as an
// `error` event, never thrown: the engine goes on delivering.

const { clientError, fromNative } = require('./errors')
const { emitError } = require('./events')

function checkString(value, name, trace) {
  if (typeof value !== 'string') {
    throw clientError('INVALID_ARGUMENT', `${name} must be a string (got ${value === null ? 'null' : typeof value})`, trace)
  }
}

class Channels {
  #manager
  #native
  #delivery
  /** The hold on the notification callback that keeps the process alive while listening. */
  #outlet
  /** channel → { callbacks: Set<{ onNotification }>, ready: Promise<{ error? }> } */
  #channels = new Map()
  #closed = false

  constructor(manager, native, delivery) {
    this.#manager = manager
    this.#native = native
    this.#delivery = delivery
    this.#outlet = native.notifyTo((batch) => this.#receive(batch))
  }

  /** Resolves to an async `unlisten()` once LISTEN on `channel` is in force on the server. */
  async listen(channel, onNotification, trace) {
    checkString(channel, 'channel', trace)
    if (typeof onNotification !== 'function') {
      throw clientError('INVALID_ARGUMENT', `onNotification must be a function (got ${onNotification === null ? 'null' : typeof onNotification})`, trace)
    }
    if (this.#closed) {
      // The engine answers POOL_CLOSED, with its message.
      const outcome = await this.#delivery.call((id) => this.#native.listenChannel(id, channel))
      throw fromNative(outcome.error, trace)
    }
    let entry = this.#channels.get(channel)
    if (entry === undefined) {
      entry = { callbacks: new Set(), ready: this.#delivery.call((id) => this.#native.listenChannel(id, channel)) }
      this.#channels.set(channel, entry)
      this.#hold()
    }
    // One object per call, so that the same function listened twice is unlistened once per call.
    const listener = { onNotification }
    // Added before LISTEN is confirmed: a notification that arrives with the confirmation is not lost.
    entry.callbacks.add(listener)
    const outcome = await entry.ready
    if (outcome.error) {
      entry.callbacks.delete(listener)
      if (this.#channels.get(channel) === entry) {
        this.#channels.delete(channel)
        this.#hold()
      }
      throw fromNative(outcome.error, trace)
    }
    let unlistened
    return () => (unlistened ??= this.#unlisten(channel, entry, listener))
  }

  async #unlisten(channel, entry, listener) {
    entry.callbacks.delete(listener)
    if (entry.callbacks.size > 0 || this.#channels.get(channel) !== entry) return
    this.#channels.delete(channel)
    this.#hold()
    if (this.#closed) return
    const outcome = await this.#delivery.call((id) => this.#native.unlistenChannel(id, channel))
    if (outcome.error) throw fromNative(outcome.error)
  }

  /** Sends `payload` on `channel` (`pg_notify`) from a pooled connection. */
  async notify(channel, payload, trace) {
    checkString(channel, 'channel', trace)
    if (payload !== undefined) checkString(payload, 'payload', trace)
    const outcome = await this.#delivery.call((id) => this.#native.notify(id, channel, payload ?? ''))
    if (outcome.error) throw fromNative(outcome.error, trace)
  }

  /** Forgets every callback; the engine closes the connection with the pool. */
  close() {
    this.#closed = true
    this.#channels.clear()
    this.#hold()
  }

  /** Keeps the process alive while any channel is listened, as an open pg client would. */
  #hold() {
    this.#outlet.hold(!this.#closed && this.#channels.size > 0)
  }

  #receive({ channels, payloads, senders, pids }) {
    for (let i = 0; i < channels.length; i++) {
      const entry = this.#channels.get(channels[i])
      if (entry === undefined) continue
      const notification = { channel: channels[i], payload: payloads[i], processId: senders[i] }
      for (const listener of entry.callbacks) this.#call(listener, notification, pids[i])
    }
  }

  #call(listener, notification, pid) {
    try {
      const result = listener.onNotification(notification)
      if (typeof result?.then === 'function') result.then(undefined, (e) => this.#failed(e, notification, pid))
    } catch (e) {
      this.#failed(e, notification, pid)
    }
  }

  #failed(cause, { channel }, pid) {
    const error = clientError('NOTIFICATION_CALLBACK_ERROR',
      `an onNotification callback of channel "${channel}" threw (later notifications are still delivered): ${cause?.message ?? cause}`)
    error.cause = cause
    emitError(this.#manager, error, { pid, listen: true, channel },
      "an onNotification callback threw; add an 'error' listener to handle this")
  }
}

module.exports = { Channels }
