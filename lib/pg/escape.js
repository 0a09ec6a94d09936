'use strict'
// node-postgres' escapeIdentifier and escapeLiteral: SQL text for a name or a string that cannot
// be sent as a parameter (DDL, LISTEN channels).

/** `"name"`, with every `"` doubled. */
function escapeIdentifier(name) {
  return `"${String(name).replace(/"/g, '""')}"`
}

/**
 * `'text'`, with every `'` doubled; a string with a backslash becomes ` E'…'` (with the leading
 * space node-postgres writes) with every backslash doubled, whatever standard_conforming_strings is.
 */
function escapeLiteral(text) {
  const s = String(text)
  const quoted = `'${s.replace(/'/g, "''").replace(/\\/g, '\\\\')}'`
  return s.includes('\\') ? ` E${quoted}` : quoted
}

module.exports = { escapeIdentifier, escapeLiteral }
