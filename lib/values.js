'use strict'
// Query values become text exactly as node-postgres prepares them (its `prepareValue`), so the
// server parses them with the types it infers: Date → local timestamp with offset, array → array
// literal, Buffer → bytes, object → its toPostgres() or JSON, null/undefined → NULL. Unlike
// node-postgres, values that cannot mean anything in SQL (functions, symbols, circular objects)
// are refused with INVALID_ARGUMENT instead of being sent as their source text or thrown as a
// TypeError.

const { isDate } = require('node:util/types')

class ValueError extends Error {}

const pad = (n, width = 2) => String(n).padStart(width, '0')

function dateText(date) {
  if (Number.isNaN(date.getTime())) throw new ValueError('is an invalid Date')
  let year = date.getFullYear()
  const bc = year < 1
  if (bc) year = -year + 1 // year 0 is 1 BC
  let offset = -date.getTimezoneOffset()
  const sign = offset < 0 ? '-' : '+'
  offset = Math.abs(offset)
  return `${pad(year, 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}${bc ? ' BC' : ''}`
}

function arrayText(array, seen) {
  if (seen.has(array)) throw new ValueError('contains itself (a circular array)')
  seen.add(array)
  let out = '{'
  for (let i = 0; i < array.length; i++) {
    if (i > 0) out += ','
    const item = array[i]
    if (item == null) out += 'NULL'
    else if (Array.isArray(item)) out += arrayText(item, seen)
    else if (ArrayBuffer.isView(item)) out += '\\\\x' + toBuffer(item).toString('hex')
    else {
      const text = prepare(item, seen)
      out += '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
    }
  }
  seen.delete(array)
  return out + '}'
}

function toBuffer(view) {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength)
}

function prepare(value, seen) {
  switch (typeof value) {
    case 'string': return value
    case 'number': case 'bigint': case 'boolean': return String(value)
    case 'function': throw new ValueError('is a function')
    case 'symbol': throw new ValueError('is a symbol')
  }
  if (ArrayBuffer.isView(value)) return toBuffer(value)
  if (isDate(value)) return dateText(value)
  if (Array.isArray(value)) return arrayText(value, seen ?? new Set())
  if (typeof value.toPostgres === 'function') {
    seen ??= new Set()
    if (seen.has(value)) throw new ValueError('refers to itself through toPostgres()')
    seen.add(value)
    const out = value.toPostgres((v) => (v == null ? null : prepare(v, seen)))
    const text = out == null ? null : prepare(out, seen)
    seen.delete(value)
    return text
  }
  try {
    return JSON.stringify(value)
  } catch (e) {
    throw new ValueError(`cannot be sent as JSON (${e.message.split('\n')[0]})`)
  }
}

/**
 * Prepares `values` for the native layer: each becomes a string, a Buffer, or null. Throws
 * ValueError naming the position of a value that cannot be sent.
 */
function prepareValues(values) {
  const out = new Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    if (value == null) {
      out[i] = null
      continue
    }
    try {
      // The set of arrays and toPostgres() objects being prepared, to refuse one that refers to
      // itself, is made when the first of them is met: plain objects and scalars need none.
      out[i] = prepare(value)
    } catch (e) {
      if (e instanceof ValueError) {
        e.message = `value $${i + 1} ${e.message}: pass a string, number, boolean, bigint, Date, Buffer, array or plain object`
        throw e
      }
      // Reading the value threw: a getter or Proxy trap, a toPostgres() that threw, a revoked
      // Proxy, or nesting deeper than the stack (RangeError).
      throw new ValueError(`value $${i + 1} could not be read (${e?.name ?? 'Error'}: ${String(e?.message ?? e).split('\n')[0]}): pass plain data`, { cause: e })
    }
  }
  return out
}

module.exports = { prepareValues, ValueError }
