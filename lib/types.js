'use strict'
// Which JS parser turns a column's text into a value: the user's (`types`, `int8`) or
// node-postgres's default for the type OID. The defaults come straight from pg-types'
// text parser table, registered into a private map, so that changes to pg's global
// `types.setTypeParser` affect node-postgres only, never this package.

const pgTypes = require('pg-types')
const textParsers = require('pg-types/lib/textParsers')
const { TEXT, PARSE } = require('./rows')

const defaults = new Map()
textParsers.init((oid, parse) => defaults.set(oid, parse))
/** pg-types' parsers as they were at load: what a query's `types` that falls back to `pg.types` returns. */
const pgDefaults = new Map([...defaults.keys()].map((oid) => [oid, pgTypes.getTypeParser(oid, 'text')]))
/** pg-types' parser of types it has none for (String): the value stays the server's text. */
const noParse = pgTypes.getTypeParser(0, 'text')

const INT8 = 20
const INT8_ARRAY = 1016

function arrayOf(parse) {
  const arrayParser = require('pg-types/lib/arrayParser')
  return (text) => arrayParser.create(text, (entry) => (entry === null ? null : parse(entry))).parse()
}

const INT8_MODES = {
  string: null,
  number: Number,
  bigint: BigInt,
}

class Parsers {
  /**
   * @param {Record<string, (text: string) => unknown> | undefined} types parsers by type OID
   * @param {'string' | 'number' | 'bigint' | undefined} int8
   */
  constructor(types, int8) {
    this.user = new Map()
    for (const [key, parse] of Object.entries(types || {})) this.user.set(Number(key), parse)
    const int8Parse = INT8_MODES[int8 || 'string']
    if (int8Parse) {
      if (!this.user.has(INT8)) this.user.set(INT8, int8Parse)
      if (!this.user.has(INT8_ARRAY)) this.user.set(INT8_ARRAY, arrayOf(int8Parse))
    }
  }

  /** OIDs whose values must arrive as text for a user parser. */
  textOids() {
    return [...this.user.keys()]
  }

  /** The parser for a column, or undefined when its kind needs none. */
  get(oid, kind) {
    const user = this.user.get(oid)
    if (user !== undefined) return user
    return kind === PARSE ? defaults.get(oid) : undefined
  }
}

/**
 * The parsers of one query given node-postgres' per-query `types` ({ getTypeParser(oid, format) }),
 * which replace the manager's. A column the engine sends as text gets the parser `types` names; one
 * it decodes from binary keeps its value unless `types` names a parser other than pg-types'
 * default, which is then given the value's text (lib/rows.js `parseDecoded`).
 */
class QueryParsers {
  constructor(types) {
    this.types = types
  }

  get(oid, kind) {
    const parse = this.types.getTypeParser(oid, 'text')
    if (kind === TEXT || kind === PARSE) return parse === noParse ? undefined : parse
    return parse === defaults.get(oid) || parse === pgDefaults.get(oid) ? undefined : parse
  }
}

module.exports = { Parsers, QueryParsers, INT8_MODES, defaults, noParse }
