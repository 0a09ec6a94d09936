'use strict'
// The `logger` option: the native pool sends each log line through a weak, non-blocking channel;
// here it becomes a call logger(level, message, fields). A logger that throws is reported once as
// a process warning and the pool carries on.

function forwardLogs(native, logger) {
  let warned = false
  native.logTo((record) => {
    let fields
    try {
      fields = JSON.parse(record.fields)
    } catch {
      fields = {}
    }
    try {
      logger(record.level, record.message, fields)
    } catch (e) {
      if (!warned) process.emitWarning(`the \`logger\` option threw (later throws are not reported): ${e?.stack ?? e}`, { type: 'PgRustPoolWarning' })
      warned = true
    }
  })
}

module.exports = { forwardLogs }
