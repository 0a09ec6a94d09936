'use strict'
// pg's and pg-pool's config names mapped onto DatabaseManager options. Settings pg takes under its
// own names are renamed; pg-pool's defaults (min 0, idleTimeoutMillis 10000, max 10) replace the
// manager's profiles; settings that would change results if ignored are refused with
// INVALID_CONFIG; anything else goes to the manager as is, which refuses what it does not know.

const { clientError } = require('../errors')
const { managerTypes } = require('./types')

const RENAMED = {
  application_name: 'applicationName',
  statement_timeout: 'statementTimeout',
  query_timeout: 'queryTimeoutMillis',
}
/** pg settings the server takes at connection start. */
const SERVER_SETTINGS = ['lock_timeout', 'idle_in_transaction_session_timeout']
/** Nothing to do here: pg-pool's own concerns, or true of every pool of this package. */
const IGNORED = new Set(['allowExitOnIdle', 'log', 'Promise', 'rows', 'keepalives', 'keepalives_idle'])
/** Would change what queries return or how they run if ignored. */
const REFUSED = {
  binary: 'results always arrive as node-postgres gives them in text mode',
  parseInputDatesAsUTC: 'Dates are sent in local time with their offset, as pg does by default',
  stream: 'connections are opened by the engine',
  verify: 'connections are opened by the engine',
  Client: 'the pool\'s connections are the engine\'s',
}
/** pg-pool's defaults, which `pool.options` shows and the manager is given. */
const POOL_DEFAULTS = { max: 10, min: 0, idleTimeoutMillis: 10000, maxUses: Infinity, allowExitOnIdle: false, maxLifetimeSeconds: 0 }

function invalid(message) {
  return clientError('INVALID_CONFIG', message)
}

/**
 * pg's `options` string (`-c name=value` or `--name=value`, as libpq sends it) as server settings.
 * An object is taken as the manager's `options` (server settings) as it is.
 */
function serverSettings(options) {
  if (typeof options !== 'string') return options
  const settings = {}
  const words = options.trim().split(/\s+/).filter(Boolean)
  for (let i = 0; i < words.length; i++) {
    let setting = words[i]
    if (setting === '-c') setting = words[++i] ?? ''
    else if (setting.startsWith('-c')) setting = setting.slice(2)
    else if (setting.startsWith('--')) setting = setting.slice(2)
    else throw invalid(`\`options\` takes -c name=value or --name=value settings (got ${JSON.stringify(options)})`)
    const eq = setting.indexOf('=')
    if (eq <= 0) throw invalid(`\`options\`: ${JSON.stringify(setting)} is not name=value`)
    settings[setting.slice(0, eq).replace(/-/g, '_')] = setting.slice(eq + 1)
  }
  return settings
}

/** DatabaseManager options from a pg config (already with pg-pool's defaults). */
function managerOptions(config) {
  const out = { types: managerTypes(), password: config.password }
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || IGNORED.has(key) || key === 'types') continue
    if (Object.hasOwn(REFUSED, key)) {
      if (value === false) continue
      throw invalid(`\`${key}\` is not supported by pg-rust-pool/pg: ${REFUSED[key]}`)
    }
    if (Object.hasOwn(RENAMED, key)) {
      if (value !== false) out[RENAMED[key]] = value
    } else if (SERVER_SETTINGS.includes(key)) {
      if (value !== false) (out.options ??= {})[key] = value
    } else if (key === 'options') {
      out.options = { ...out.options, ...serverSettings(value) }
    } else if (key === 'fallback_application_name') {
      out.applicationName ??= config.application_name ?? value
    } else if (key === 'client_encoding') {
      if (!/^utf-?8$/i.test(value) && value !== '') throw invalid(`\`client_encoding\` must be UTF8 (got ${JSON.stringify(value)})`)
    } else if (key === 'enableChannelBinding') {
      out.channelBinding = value ? 'prefer' : 'disable'
    } else if (key === 'port' && typeof value === 'string' && /^\d+$/.test(value)) {
      out.port = Number(value)
    } else if (key === 'maxUses' && value === Infinity) {
      out.maxUses = 0
    } else {
      out[key] = value
    }
  }
  return out
}

/** What `pool.options` shows: the config with pg-pool's defaults, its password not enumerable. */
function poolOptions(config) {
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) {
    throw invalid(`a Pool's config must be an object (got ${config === null ? 'null' : typeof config})`)
  }
  const options = { ...POOL_DEFAULTS }
  for (const [key, value] of Object.entries(config ?? {})) if (value !== undefined) options[key] = value
  if ('password' in options) {
    const { password } = options
    delete options.password
    Object.defineProperty(options, 'password', { value: password, enumerable: false, writable: true, configurable: true })
  }
  return options
}

module.exports = { managerOptions, poolOptions }
