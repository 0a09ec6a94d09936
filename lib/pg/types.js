'use strict'
// `types` of pg-rust-pool/pg: node-postgres' getTypeParser and setTypeParser over a registry of
// this module's own, so that parsers set here apply to this module's pools and clients, and those
// set on the real `pg` do not. Without any parser set here, queries use the engine's own
// decoding, which gives the values pg-types' defaults give.

const arrayParser = require('pg-types/lib/arrayParser')
const builtins = require('pg-types/lib/builtins')
const binaryParsers = require('pg-types/lib/binaryParsers')
const { defaults, noParse } = require('../types')

const binaryDefaults = new Map()
binaryParsers.init((oid, parse) => binaryDefaults.set(oid, parse))
const DEFAULTS = { text: defaults, binary: binaryDefaults }
const set = { text: new Map(), binary: new Map() }

/** The parser of type `oid` in `format` ('text' or 'binary'): the one set here, else pg-types' default. */
function getTypeParser(oid, format = 'text') {
  if (!Object.hasOwn(set, format)) return noParse
  return set[format].get(Number(oid)) ?? DEFAULTS[format].get(Number(oid)) ?? noParse
}

/** Sets the parser of type `oid`: `setTypeParser(oid, parse)` or `setTypeParser(oid, format, parse)`. */
function setTypeParser(oid, format, parse) {
  if (typeof format === 'function') {
    parse = format
    format = 'text'
  }
  if (!Object.hasOwn(set, format)) throw new TypeError(`setTypeParser: format must be 'text' or 'binary' (got ${JSON.stringify(format)})`)
  if (typeof parse !== 'function') throw new TypeError('setTypeParser: the parser must be a function (text) => value')
  set[format].set(Number(oid), parse)
}

const types = { getTypeParser, setTypeParser, arrayParser, builtins }

/** `types` when a text parser was set here (queries then take it as their `types`), else undefined. */
function typesInForce() {
  return set.text.size > 0 ? types : undefined
}

/**
 * Parsers for a DatabaseManager's `types` option: the types with a text parser set here, so that
 * the engine sends their values as text, each looked up when it is used.
 */
function managerTypes() {
  const out = {}
  for (const oid of set.text.keys()) out[oid] = (text) => getTypeParser(oid)(text)
  return out
}

module.exports = { types, typesInForce, managerTypes }
