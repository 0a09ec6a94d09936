'use strict'
// Which JS parser turns a column's text into a value: the user's (`types`, `int8`) or
// node-postgres's default for the type OID. The defaults come straight from pg-types'
// text parser table, registered into a private map, so that changes to pg's global
// `types.setTypeParser` affect node-postgres only, never this package.

const textParsers = require('pg-types/lib/textParsers')
const { PARSE } = require('./rows')

const defaults = new Map()
textParsers.init((oid, parse) => defaults.set(oid, parse))

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

module.exports = { Parsers, INT8_MODES }
