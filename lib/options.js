'use strict'
// Checks the JS types of DatabaseManager options before they reach native code, so a wrong type
// gets a message that names the option; the native resolver checks values and precedence.

const { INT8_MODES } = require('./types')

const STRING = ['connectionString', 'host', 'database', 'user', 'password', 'applicationName', 'name', 'logLevel',
  'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'channelBinding', 'sslnegotiation',
  'targetSessionAttrs', 'loadBalanceHosts']
// Never shown in a message, not even their type's value.
const SECRET = new Set(['password', 'sslpassword'])
const NUMBER = ['port', 'max', 'min', 'connectionTimeoutMillis', 'statementTimeout', 'maxPreparedStatements',
  'idleTimeoutMillis', 'maxLifetimeSeconds', 'maxUses', 'keepAliveInitialDelayMillis', 'slowQueryMillis',
  'leakDetectionThreshold', 'busyPollMicros', 'queryTimeoutMillis', 'cancelTimeoutMillis',
  'tcpUserTimeoutMillis', 'maxReplicaLagMillis']
const BOOLEAN = ['statementCache', 'pgbouncer', 'pipelineQuickQueries', 'keepAlive', 'logParameters']
const KNOWN = new Set([...STRING, ...NUMBER, ...BOOLEAN, 'types', 'int8', 'options', 'logger', 'ssl', 'query_timeout', 'circuitBreaker',
  'hosts', 'replicas'])
// node-postgres's `ssl` object: the tls.connect options it passes on that mean something here.
// `require` is not a tls option, but guides for hosted databases write it; it asks for TLS, as
// the object itself does.
const SSL_KEYS = new Set(['rejectUnauthorized', 'ca', 'cert', 'key', 'passphrase', 'servername', 'require'])
const SETTING_VALUE = new Set(['string', 'number', 'boolean'])

class OptionError extends Error {}

function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? 'an object' : String(value)
}

/** Validated native options, or throws OptionError. */
function nativeOptions(options, parsers) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new OptionError(`options must be an object (got ${describe(options)})`)
  }
  const out = {}
  for (const key of Object.keys(options)) {
    const value = options[key]
    if (value === undefined) continue
    if (!KNOWN.has(key)) throw new OptionError(`unknown option \`${key}\`: see the options table in the README`)
    if (STRING.includes(key) && typeof value !== 'string') {
      throw new OptionError(`\`${key}\` must be a string (got ${SECRET.has(key) ? typeof value : describe(value)})`)
    }
    if (NUMBER.includes(key) && (typeof value !== 'number' || Number.isNaN(value))) {
      throw new OptionError(`\`${key}\` must be a number (got ${describe(value)})`)
    }
    if (BOOLEAN.includes(key) && typeof value !== 'boolean') {
      throw new OptionError(`\`${key}\` must be true or false (got ${describe(value)})`)
    }
    if (key === 'types') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new OptionError('`types` must be an object mapping type OIDs to parser functions')
      }
      for (const [oid, parse] of Object.entries(value)) {
        if (!/^\d+$/.test(oid) || Number(oid) > 0xffffffff) throw new OptionError(`\`types\` keys must be type OIDs (got ${JSON.stringify(oid)})`)
        if (typeof parse !== 'function') throw new OptionError(`\`types[${oid}]\` must be a function (text) => value`)
      }
      continue
    }
    if (key === 'options') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new OptionError('`options` must be an object of server settings, e.g. { search_path: \'app,public\' }')
      }
      out.serverSettings = {}
      for (const [name, setting] of Object.entries(value)) {
        if (!SETTING_VALUE.has(typeof setting)) throw new OptionError(`\`options.${name}\` must be a string, number or boolean (got ${describe(setting)})`)
        out.serverSettings[name] = String(setting)
      }
      continue
    }
    if (key === 'logger') {
      // Not passed to native code here: the manager connects it with logTo().
      if (typeof value !== 'function') throw new OptionError(`\`logger\` must be a function (level, message, fields) => void (got ${describe(value)})`)
      continue
    }
    if (key === 'query_timeout') {
      // node-postgres's name, so a pg configuration carries over.
      if (options.queryTimeoutMillis !== undefined) throw new OptionError('`query_timeout` is node-postgres\'s name for `queryTimeoutMillis`: give one of them')
      if (typeof value !== 'number' || Number.isNaN(value)) throw new OptionError(`\`query_timeout\` must be a number (got ${describe(value)})`)
      out.queryTimeoutMillis = value
      continue
    }
    if (key === 'hosts' || key === 'replicas') {
      // `replicas` is the manager's (lib/replicas.js): it makes a second pool, not a setting.
      const list = typeof value === 'string' && key === 'replicas' ? [value] : value
      if (!Array.isArray(list) || list.length === 0 || !list.every((h) => typeof h === 'string')) {
        throw new OptionError(`\`${key}\` must be a non-empty array of strings such as 'db1.example.com:5432'${key === 'replicas' ? ' or connection strings' : ''} (got ${describe(value)})`)
      }
      if (key === 'hosts') out.hosts = list
      continue
    }
    if (key === 'maxReplicaLagMillis') {
      if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new OptionError(`\`maxReplicaLagMillis\` must be a whole number of milliseconds from 0 (no bound) to 2147483647 (got ${describe(value)})`)
      if (options.replicas === undefined) throw new OptionError('`maxReplicaLagMillis` bounds the lag of `replicas`: give `replicas` too, or leave it out')
      continue
    }
    if (key === 'circuitBreaker') {
      out.circuitBreaker = circuitBreaker(value)
      continue
    }
    if (key === 'ssl') {
      out.ssl = sslOption(value)
      continue
    }
    if (key === 'int8') {
      if (!Object.hasOwn(INT8_MODES, value)) throw new OptionError(`\`int8\` must be 'string', 'number' or 'bigint' (got ${describe(value)})`)
      continue
    }
    out[key] = value
  }
  out.textOids = parsers.textOids()
  return out
}

/** The `circuitBreaker` option in the shape native code takes: false, true or { failureThreshold, resetTimeoutMillis }. */
function circuitBreaker(value) {
  if (typeof value === 'boolean') return { enabled: value }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(`\`circuitBreaker\` must be false or { failureThreshold, resetTimeoutMillis } (got ${describe(value)})`)
  }
  const out = { enabled: true }
  for (const [name, item] of Object.entries(value)) {
    if (item === undefined) continue
    if (name !== 'failureThreshold' && name !== 'resetTimeoutMillis') {
      throw new OptionError(`\`circuitBreaker.${name}\` is not an option: it takes failureThreshold and resetTimeoutMillis`)
    }
    if (typeof item !== 'number' || Number.isNaN(item)) throw new OptionError(`\`circuitBreaker.${name}\` must be a number (got ${describe(item)})`)
    out[name] = item
  }
  return out
}

/** PEM text from a string, a Buffer, or an array of them (node's `ca` takes all three). */
function pem(value, name, several) {
  const items = several && Array.isArray(value) ? value : [value]
  const buffers = items.map((item) => {
    if (typeof item === 'string') return Buffer.from(item)
    if (Buffer.isBuffer(item)) return item
    throw new OptionError(`\`ssl.${name}\` must be PEM text as a string or Buffer${several ? ', or an array of them' : ''} (got ${describe(item)})`)
  })
  return Buffer.concat(buffers.flatMap((b) => [b, Buffer.from('\n')]))
}

/** node-postgres's `ssl` option in the shape native code takes. */
function sslOption(value) {
  if (typeof value === 'boolean') return { enabled: value }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(`\`ssl\` must be true, false or an object such as { ca, rejectUnauthorized } (got ${describe(value)})`)
  }
  const out = { enabled: true }
  for (const [name, item] of Object.entries(value)) {
    if (item === undefined) continue
    if (!SSL_KEYS.has(name)) {
      throw new OptionError(`\`ssl.${name}\` is not supported: \`ssl\` takes rejectUnauthorized, ca, cert, key, passphrase and servername (or use sslmode and the other ssl* options)`)
    }
    if (name === 'rejectUnauthorized' || name === 'require') {
      if (typeof item !== 'boolean') throw new OptionError(`\`ssl.${name}\` must be true or false (got ${describe(item)})`)
      if (name === 'rejectUnauthorized') out.rejectUnauthorized = item
    } else if (name === 'passphrase' || name === 'servername') {
      if (typeof item !== 'string') throw new OptionError(`\`ssl.${name}\` must be a string (got ${name === 'passphrase' ? typeof item : describe(item)})`)
      out[name] = item
    } else {
      out[name] = pem(item, name, name === 'ca')
    }
  }
  return out
}

module.exports = { nativeOptions, OptionError }
