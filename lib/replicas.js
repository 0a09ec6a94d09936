'use strict'
// Read replicas (the `replicas` option): a second native pool for `readOnly` work. It serves
// while a replica is reachable and, with `maxReplicaLagMillis`, close enough behind the primary;
// the primary serves otherwise. Work that failed on the replica before anything of it could
// have run (no connection, the server gone) runs again on the primary, and the replica rests a
// second before it is tried again.

const { OptionError } = require('./options')
const { readResults } = require('./rows')
const { fromNative } = require('./errors')

/** Failures that say the replica cannot be used now, not that the work was wrong. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOENT', 'EAI_AGAIN',
  'CONNECT_TIMEOUT', 'CONNECTION_ERROR', 'CONNECTION_CLOSED', 'DATABASE_UNAVAILABLE', 'NO_SUITABLE_SERVER',
  'POOL_TIMEOUT',
  // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)
  '57P01', '57P02', '57P03',
])

/** How long a replica that failed rests before it is tried again. */
const REST_MILLIS = 1000
/** How old the lag measurement may be before it is taken again. */
const LAG_CHECK_MILLIS = 1000

/**
 * The replica's delay behind the primary in ms: 0 when it has replayed all it received, else
 * the age of the last transaction it replayed (none yet: unbounded). A replica cut off from its
 * primary receives nothing, so its delay then grows with the clock.
 */
const LAG_SQL = `SELECT CASE
  WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_catalog.pg_last_xact_replay_timestamp()) * 1000, 'Infinity')
END::float8 AS lag`

/**
 * The replica pool's hosts from the `replicas` entries: `host`, `host:port`, or a connection
 * string, whose hosts and ports are taken (`postgres://u@a:5432,b/db`, `host=a,b port=5433`).
 */
function replicaHosts(entries) {
  const hosts = []
  for (const entry of Array.isArray(entries) ? entries : [entries]) {
    if (/^postgres(?:ql)?:\/\//.test(entry)) {
      const authority = entry.replace(/^[^:]+:\/\//, '').split(/[/?]/, 1)[0]
      const hostPart = authority.slice(authority.lastIndexOf('@') + 1)
      if (hostPart === '') throw new OptionError('each connection string of `replicas` must name its host: postgres://user@host:port/database')
      hosts.push(...hostPart.split(',').map(decodeURIComponent))
    } else if (/\w=/.test(entry)) {
      const value = (key) => entry.match(new RegExp(`(?:^|\\s)${key}\\s*=\\s*(\\S+)`))?.[1]
      const names = value('host')?.split(',')
      if (names === undefined) throw new OptionError('each key=value connection string of `replicas` must name its host: host=replica1 port=5432')
      const ports = value('port')?.split(',') ?? []
      names.forEach((name, i) => {
        const port = ports[i] ?? ports[0]
        hosts.push(port === undefined ? name : `${name.includes(':') ? `[${name}]` : name}:${port}`)
      })
    } else {
      hosts.push(entry)
    }
  }
  return hosts
}

/**
 * The native options of the replica pool: the primary's, with the replicas as its hosts, tried
 * in a random order, any of them good.
 */
function replicaOptions(native, replicas) {
  const options = { ...native, hosts: replicaHosts(replicas), loadBalanceHosts: 'random', targetSessionAttrs: 'any' }
  delete options.host
  return options
}

/** A sample line of the exposition format: name, labels, value. */
const SAMPLE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/

/**
 * One exposition text from the primary's and the replica's, each sample labelled with its
 * `target`, each family once (the format requires it), the replica's samples after the
 * primary's.
 */
function mergeMetrics(primary, replica) {
  const families = new Map()
  for (const [text, target] of [[primary, 'primary'], [replica, 'replica']]) {
    let family
    for (const line of text.split('\n')) {
      if (line === '') continue
      const head = line.match(/^# (?:HELP|TYPE) (\S+)/)
      if (head) {
        family = families.get(head[1])
        if (family === undefined) families.set(head[1], family = { head: [], samples: [] })
        if (target === 'primary') family.head.push(line)
        continue
      }
      const [, name, labels, value] = line.match(SAMPLE)
      family.samples.push(`${name}{target="${target}"${labels ? `,${labels}` : ''}} ${value}`)
    }
  }
  let out = ''
  for (const { head, samples } of families.values()) out += [...head, ...samples].join('\n') + '\n'
  return out
}

/** Chooses, for each piece of `readOnly` work, the replica pool or the primary. */
class Replicas {
  /** The replica's `shared` (lib/manager.js): its native pool, delivery, leaks, counts. */
  shared
  #send
  #maxLag
  #restUntil = 0
  #lag = { at: -Infinity, millis: 0, pending: null }

  constructor(shared, send, maxLagMillis) {
    this.shared = shared
    this.#send = send
    this.#maxLag = maxLagMillis ?? 0
  }

  /**
   * `onReplica(send, shared)` while the replica is usable; `onPrimary()` when it is not, or
   * when `onReplica` failed because it could not reach it.
   */
  async run(onReplica, onPrimary) {
    if (await this.usable()) {
      try {
        return await onReplica(this.#send, this.shared)
      } catch (e) {
        if (!this.failed(e)) throw e
      }
    }
    return onPrimary()
  }

  /** Whether the replica should take `readOnly` work now. */
  async usable() {
    if (Date.now() < this.#restUntil) return false
    if (this.#maxLag === 0) return true
    const lag = this.#lag
    if (Date.now() - lag.at > LAG_CHECK_MILLIS) {
      lag.pending ??= this.#measure().finally(() => { lag.pending = null })
      // The first measurement is awaited; later ones refresh behind the last one taken.
      if (lag.at === -Infinity) await lag.pending
    }
    return Date.now() >= this.#restUntil && lag.millis <= this.#maxLag
  }

  async #measure() {
    const outcome = await this.#send(LAG_SQL, [])
    if (outcome.error) {
      this.failed(fromNative(outcome.error))
      return
    }
    const [result] = readResults(outcome.meta, outcome.texts, this.shared.parsers)
    this.#lag.millis = result.columns[0][0] ?? 0
    this.#lag.at = Date.now()
  }

  /** Whether `error` says the replica is unreachable; if so it rests. */
  failed(error) {
    if (!UNREACHABLE.has(error?.code)) return false
    this.#restUntil = Date.now() + REST_MILLIS
    return true
  }
}

module.exports = { Replicas, replicaOptions, replicaHosts, mergeMetrics }
