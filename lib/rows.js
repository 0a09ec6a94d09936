'use strict'
// Builds node-postgres-shaped results from what native code sends for one query (src/wire.rs):
// an ArrayBuffer of 32-bit words, numbers and bytes, and strings: commands and field names in the
// first, then those of the text and JSON columns (one each, or several parts for a column longer
// than a JS string may be). Each column becomes an array of JS values, then rows
// are built by a constructor generated once per column shape, so V8 sees one object shape per result.

// Column kinds, as the engine numbers them (`convert::Kind::NAMES`, read once through constants.js).
const { columns: KINDS } = require('./constants')
const NUMBER = KINDS.number
const BOOL = KINDS.bool
const TEXT = KINDS.text
const JSON_ = KINDS.json
const BYTES = KINDS.bytes
const DATE = KINDS.date
const PARSE = KINDS.parse

/** Reads the words of `meta` in order. */
class Reader {
  constructor(meta, texts) {
    this.meta = meta
    this.words = new Int32Array(meta)
    this.texts = texts
    this.at = 0 // in words
  }

  int() {
    return this.words[this.at++]
  }

  uint() {
    return this.words[this.at++] >>> 0
  }

  /** A string of the first text, written as start and length. */
  string() {
    const start = this.words[this.at++]
    return this.texts[0].slice(start, start + this.words[this.at++])
  }

  /** A column's own string, written as its index. */
  ownString() {
    return this.texts[this.words[this.at++]]
  }

  /** `n` bytes, padded to a whole word. */
  bytes(n) {
    const bytes = new Uint8Array(this.meta, this.at * 4, n)
    this.at += (n + 3) >>> 2
    return bytes
  }

  /** `n` numbers, from the next 8-byte boundary. */
  numbers(n) {
    this.at += this.at & 1
    const numbers = new Float64Array(this.meta, this.at * 4, n)
    this.at += n * 2
    return numbers
  }

  /** `n` words. */
  ints(n) {
    const ints = this.words.subarray(this.at, this.at + n)
    this.at += n
    return ints
  }
}

/** The values of the next column, `rows` of them; text ones through `parse` when given (see parseDecoded for the others). */
function columnValues(r, rows, parse) {
  const kind = r.int()
  const nulls = r.int() & 1 ? r.bytes(rows) : undefined
  if (kind === JSON_) {
    // Each part is a JSON array literal of its rows' values; SQL NULL and JSON null both arrive
    // as null, as with node-postgres.
    const parts = r.int()
    let values = JSON.parse(r.ownString())
    for (let p = 1; p < parts; p++) values = values.concat(JSON.parse(r.ownString()))
    return values
  }
  const out = new Array(rows)
  switch (kind) {
    case NUMBER:
    case DATE: {
      const numbers = r.numbers(rows)
      for (let i = 0; i < rows; i++) {
        const n = numbers[i]
        if (nulls !== undefined && nulls[i] === 1) out[i] = null
        else if (kind === DATE) out[i] = Number.isFinite(n) ? new Date(n) : n
        else out[i] = n
      }
      return out
    }
    case BOOL: {
      const bytes = r.bytes(rows)
      for (let i = 0; i < rows; i++) out[i] = nulls !== undefined && nulls[i] === 1 ? null : bytes[i] === 1
      return out
    }
    case TEXT:
    case PARSE: {
      // Per part: its string, its rows, and their end offsets in it.
      let i = 0
      for (let parts = r.int(); parts > 0; parts--) {
        const text = r.ownString()
        const ends = r.ints(r.int())
        let start = 0
        for (let k = 0; k < ends.length; k++, i++) {
          const end = ends[k]
          if (nulls !== undefined && nulls[i] === 1) out[i] = null
          else {
            const s = text.slice(start, end)
            out[i] = parse === undefined ? s : parse(s)
          }
          start = end
        }
      }
      return out
    }
    case BYTES: {
      const length = r.int()
      const ends = r.ints(rows)
      const bytes = r.bytes(length)
      let start = 0
      for (let i = 0; i < rows; i++) {
        const end = ends[i]
        out[i] = nulls !== undefined && nulls[i] === 1 ? null : Buffer.from(bytes.subarray(start, end))
        start = end
      }
      return out
    }
  }
  throw new Error(`pg-rust-pool: unknown column kind ${kind}`)
}

const rowMakers = new Map()
const MAX_ROW_MAKERS = 1000

/**
 * A constructor `new Row(columns, i)` of row objects for these column names, cached by names. Rows
 * are made by `new` and not by an object literal: V8 tracks the objects of a literal and, when
 * nearly all of them survive a young-generation collection (as a long result's rows do while it
 * is being built), allocates all later ones in the old generation, and a process building large
 * results then ran a full collection every few queries. A constructor's objects are not tracked.
 * Its prototype is Object.prototype, so rows are plain objects, as node-postgres' are.
 */
function rowMaker(names) {
  const key = names.join('\u0000')
  let Row = rowMakers.get(key)
  if (Row === undefined) {
    // Assignment to `__proto__` would set the prototype: such a shape defines its properties in a
    // literal, whose computed keys make a plain property.
    const body = names.includes('__proto__')
      ? `return {\n${names.map((n, j) => `[${JSON.stringify(n)}]: c[${j}][i]`).join(',\n')}\n}`
      : names.map((n, j) => `this[${JSON.stringify(n)}] = c[${j}][i]`).join('\n')
    Row = new Function('c', 'i', body)
    Row.prototype = Object.prototype
    if (rowMakers.size >= MAX_ROW_MAKERS) rowMakers.delete(rowMakers.keys().next().value)
    rowMakers.set(key, Row)
  }
  return Row
}

/**
 * The results of one query (or rows of one that has not ended) as columns of values, before any
 * row is built: `{ flags, command, rowCount, n, fields, columns }`.
 */
function readResults(meta, texts, parsers) {
  const r = new Reader(meta, texts)
  const results = new Array(r.int())
  for (let k = 0; k < results.length; k++) results[k] = readResult(r, parsers)
  return results
}

function readResult(r, parsers) {
  const flags = r.int()
  const command = r.string()
  const low = r.uint()
  const rowCount = low + r.uint() * 4294967296
  const n = r.int()
  const fields = new Array(r.int())
  for (let j = 0; j < fields.length; j++) {
    fields[j] = {
      name: r.string(),
      tableID: r.uint(),
      columnID: r.int(),
      dataTypeID: r.uint(),
      dataTypeSize: r.int(),
      dataTypeModifier: r.int(),
      format: 'text',
    }
  }
  const columns = new Array(fields.length)
  for (let j = 0; j < fields.length; j++) {
    // The column's kind is its next word.
    const kind = r.words[r.at]
    const parse = parsers.get(fields[j].dataTypeID, kind)
    const values = columnValues(r, n, parse)
    columns[j] = parse === undefined || kind === TEXT || kind === PARSE ? values : parseDecoded(values, kind, parse)
  }
  return { flags, command, rowCount, n, fields, columns }
}

const pad = (n, width = 2) => String(n).padStart(width, '0')

/**
 * PostgreSQL's text output of a value the engine decoded from binary, for a query's own type
 * parser (node-postgres' per-query `types`), which expects text: numbers as JS writes them,
 * booleans as `t`/`f`, bytea as hex, JSON re-serialised, timestamptz in UTC to the millisecond.
 */
function textOf(kind, value) {
  switch (kind) {
    case BOOL: return value ? 't' : 'f'
    case BYTES: return `\\x${value.toString('hex')}`
    case JSON_: return JSON.stringify(value)
    case DATE: {
      if (typeof value === 'number') return value > 0 ? 'infinity' : '-infinity'
      const year = value.getUTCFullYear()
      return `${pad(year < 1 ? 1 - year : year, 4)}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())} ` +
        `${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}:${pad(value.getUTCSeconds())}.` +
        `${pad(value.getUTCMilliseconds(), 3)}+00${year < 1 ? ' BC' : ''}`
    }
    default: return String(value)
  }
}

/** A decoded column's values through `parse`, given their text; NULL stays null. */
function parseDecoded(values, kind, parse) {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== null) values[i] = parse(textOf(kind, values[i]))
  }
  return values
}

/** A node-postgres-shaped result from what `readResult` read. */
function buildResult({ flags, command, rowCount, n, fields, columns }, rowMode) {
  const rows = new Array(n)
  if (rowMode === 'array') {
    for (let i = 0; i < n; i++) {
      const row = new Array(columns.length)
      for (let j = 0; j < columns.length; j++) row[j] = columns[j][i]
      rows[i] = row
    }
  } else if (columns.length > 0) {
    const Row = rowMaker(fields.map((f) => f.name))
    for (let i = 0; i < n; i++) rows[i] = new Row(columns, i)
  } else {
    for (let i = 0; i < n; i++) rows[i] = {}
  }
  return {
    command: flags & 1 ? command : null,
    rowCount: flags & 2 ? rowCount : null,
    oid: command === 'INSERT' ? 0 : null,
    rows,
    fields,
    rowAsArray: rowMode === 'array',
  }
}

module.exports = { readResults, buildResult, TEXT, PARSE }
