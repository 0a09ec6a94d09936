'use strict'
// The numbers this facade and the engine share, defined once, in Rust, and read once here: each
// event's bit in the listener mask (`events::kind::NAMES`) and the column kinds of a result's
// encoding (`convert::Kind::NAMES`).

const { NativePool } = require('./native')

const { events, columns } = NativePool.constants()

module.exports = { events: Object.freeze({ ...events }), columns: Object.freeze({ ...columns }) }
