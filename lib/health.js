'use strict'
// getHealthStatus() over the native check, and healthHandlers(manager): plain (req, res) handlers
// for /health, /health/database, /ready, /live, /status and /metrics that work as Express routes
// and with node:http alike (they only use statusCode, setHeader and end).

const { checkTimeout, clientError } = require('./errors')
const { checkSignal, abortedBefore, untilAborted } = require('./abort')

const JSON_TYPE = 'application/json; charset=utf-8'
// The Prometheus text exposition format, version 0.0.4.
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** The health status from the native check; rejects only for a bad argument. */
async function healthStatus(native, { timeoutMillis = 5000, signal } = {}, trace) {
  checkTimeout(timeoutMillis, 1, trace)
  try {
    checkSignal(signal)
  } catch (e) {
    throw clientError('INVALID_ARGUMENT', e.message, trace)
  }
  if (signal?.aborted) throw abortedBefore(signal, trace)
  // Aborted, the caller stops waiting; the check itself ends within its timeoutMillis.
  const h = await untilAborted(native.health(timeoutMillis), signal,
    'getHealthStatus() was aborted (its AbortSignal fired) before the check ended', trace, () => {})
  const status = {
    status: h.status,
    responseTimeMs: h.responseTimeMs,
    serverVersion: h.serverVersion ?? null,
    databaseTime: h.databaseTime == null ? null : new Date(h.databaseTime),
    database: h.database ?? null,
    isReplica: h.isReplica ?? null,
    encrypted: h.encrypted ?? null,
    tls: h.encrypted ? { version: h.tlsVersion, cipher: h.tlsCipher } : null,
    circuit: h.pool.circuit,
    pool: h.pool,
  }
  if (h.error) status.error = { code: h.error.code, message: h.error.message }
  return status
}

function send(req, res, statusCode, body, type = JSON_TYPE) {
  const text = type === JSON_TYPE ? JSON.stringify(body) : body
  res.statusCode = statusCode
  res.setHeader('content-type', type)
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-length', Buffer.byteLength(text))
  res.end(req.method === 'HEAD' ? undefined : text)
}

/** Wraps a handler so that a throw answers 500 with the error as JSON instead of hanging. */
function guarded(handler) {
  return async (req, res) => {
    try {
      await handler(req, res)
    } catch (e) {
      if (!res.headersSent) send(req, res, 500, { status: 'error', error: { code: e?.code ?? 'INTERNAL_ERROR', message: String(e?.message ?? e) } })
    }
  }
}

/**
 * Handlers for a manager's health endpoints. Each is `(req, res) => Promise<void>`; `handle(req,
 * res, next?)` serves whichever path matches and calls `next()` (or returns false) otherwise.
 */
function healthHandlers(manager, { timeoutMillis = 5000 } = {}) {
  if (!manager || typeof manager.getHealthStatus !== 'function') {
    throw new TypeError('healthHandlers(manager) needs a DatabaseManager')
  }
  checkTimeout(timeoutMillis, 1)
  const check = () => manager.getHealthStatus({ timeoutMillis })
  const code = (h) => (h.status === 'unhealthy' ? 503 : 200)

  const handlers = {
    /** Everything: the database check and the pool; 503 when unhealthy. */
    health: guarded(async (req, res) => {
      const h = await check()
      send(req, res, code(h), h)
    }),
    /** The database check alone; 503 when unhealthy. */
    database: guarded(async (req, res) => {
      const { pool, ...database } = await check()
      send(req, res, code(database), database)
    }),
    /** Whether to send traffic here: 200 when the database answers (healthy or degraded). */
    ready: guarded(async (req, res) => {
      const h = await check()
      const body = { status: h.status === 'unhealthy' ? 'not ready' : 'ready', database: h.status }
      if (h.error) body.error = h.error
      send(req, res, code(h), body)
    }),
    /** Whether the process runs: always 200, never touches the database (a database outage must not restart the app). */
    live: guarded(async (req, res) => {
      send(req, res, 200, { status: 'alive', uptimeSeconds: process.uptime() })
    }),
    /** The pool statistics, without a database round trip. */
    status: guarded(async (req, res) => {
      send(req, res, 200, { status: 'ok', pool: manager.getPoolStatistics() })
    }),
    /** The Prometheus scrape. */
    metrics: guarded(async (req, res) => {
      send(req, res, 200, manager.metrics(), METRICS_TYPE)
    }),
  }
  const routes = {
    '/health': handlers.health,
    '/health/database': handlers.database,
    '/ready': handlers.ready,
    '/live': handlers.live,
    '/status': handlers.status,
    '/metrics': handlers.metrics,
  }
  function handle(req, res, next) {
    const path = (req.url ?? '/').split('?')[0].replace(/(.)\/$/, '$1')
    const handler = (req.method === 'GET' || req.method === 'HEAD') && Object.hasOwn(routes, path) ? routes[path] : undefined
    if (handler) {
      handler(req, res)
      return true
    }
    if (typeof next === 'function') next()
    return false
  }
  return { ...handlers, routes, handle }
}

module.exports = { healthStatus, healthHandlers, METRICS_TYPE }
