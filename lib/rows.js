'use strict'
// Builds node-postgres-shaped results from the native layer's columns. Values arrive in bulk per
// column (numbers as a Float64Array, strings as one joined string with end offsets, …); each
// column becomes an array of JS values, then rows are built by a function generated once per
// column shape, so V8 sees one object shape per result.

// Column kinds: must match `convert::Kind` in src/convert/mod.rs.
const NUMBER = 0
const BOOL = 1
const TEXT = 2
const JSON_ = 3
const BYTES = 4
const DATE = 5
const PARSE = 6

function textValues(col, rows, parse) {
  const out = new Array(rows)
  const text = col.text || ''
  const { ends, nulls } = col
  let start = 0
  for (let i = 0; i < rows; i++) {
    const end = ends[i]
    if (nulls !== undefined && nulls[i] === 1) out[i] = null
    else {
      const s = text.slice(start, end)
      out[i] = parse === undefined ? s : parse(s)
    }
    start = end
  }
  return out
}

function columnValues(col, rows, parse) {
  const { nulls } = col
  switch (col.kind) {
    case NUMBER: {
      if (parse !== undefined) break
      const out = new Array(rows)
      const numbers = col.numbers
      for (let i = 0; i < rows; i++) out[i] = nulls !== undefined && nulls[i] === 1 ? null : numbers[i]
      return out
    }
    case BOOL: {
      const out = new Array(rows)
      const bytes = col.bytes
      for (let i = 0; i < rows; i++) out[i] = nulls !== undefined && nulls[i] === 1 ? null : bytes !== undefined && bytes[i] === 1
      return out
    }
    case TEXT:
    case PARSE:
      return textValues(col, rows, parse)
    case JSON_:
      // SQL NULL and JSON null both arrive as null, as with node-postgres.
      return rows === 0 ? [] : JSON.parse(col.text)
    case BYTES: {
      const out = new Array(rows)
      const { bytes, ends } = col
      let start = 0
      for (let i = 0; i < rows; i++) {
        const end = ends[i]
        out[i] = nulls !== undefined && nulls[i] === 1 ? null : bytes === undefined ? Buffer.alloc(0) : Buffer.from(bytes.subarray(start, end))
        start = end
      }
      return out
    }
    case DATE: {
      const out = new Array(rows)
      const numbers = col.numbers
      for (let i = 0; i < rows; i++) {
        const ms = numbers !== undefined ? numbers[i] : 0
        out[i] = nulls !== undefined && nulls[i] === 1 ? null : Number.isFinite(ms) ? new Date(ms) : ms
      }
      return out
    }
  }
  throw new Error(`pg-rust-pool: unknown column kind ${col.kind}`)
}

const rowMakers = new Map()
const MAX_ROW_MAKERS = 1000

/** A function (columns, i) => row object for these column names, cached by names. */
function rowMaker(names) {
  const key = names.join('\u0000')
  let make = rowMakers.get(key)
  if (make === undefined) {
    // Computed keys define own properties, so a column named __proto__ is a plain property.
    const body = names.map((n, j) => `[${JSON.stringify(n)}]: c[${j}][i]`).join(',\n')
    make = new Function('c', 'i', `return {\n${body}\n}`)
    if (rowMakers.size >= MAX_ROW_MAKERS) rowMakers.delete(rowMakers.keys().next().value)
    rowMakers.set(key, make)
  }
  return make
}

/** One node-postgres-shaped result from a native result. */
function buildResult(raw, parsers, rowMode) {
  const fields = raw.fields.map((f) => ({
    name: f.name,
    tableID: f.tableId,
    columnID: f.columnId,
    dataTypeID: f.dataTypeId,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: 'text',
  }))
  const n = raw.rows
  const columns = raw.columns.map((col, j) => columnValues(col, n, parsers.get(raw.fields[j].dataTypeId, col.kind)))
  const rows = new Array(n)
  if (rowMode === 'array') {
    for (let i = 0; i < n; i++) {
      const row = new Array(columns.length)
      for (let j = 0; j < columns.length; j++) row[j] = columns[j][i]
      rows[i] = row
    }
  } else if (columns.length > 0) {
    const make = rowMaker(fields.map((f) => f.name))
    for (let i = 0; i < n; i++) rows[i] = make(columns, i)
  } else {
    for (let i = 0; i < n; i++) rows[i] = {}
  }
  return {
    command: raw.command ?? null,
    rowCount: raw.rowCount ?? null,
    oid: raw.command === 'INSERT' ? 0 : null,
    rows,
    fields,
    rowAsArray: rowMode === 'array',
  }
}

module.exports = { buildResult, PARSE }
