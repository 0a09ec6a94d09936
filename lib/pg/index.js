'use strict'
// pg-rust-pool/pg: the `pg` module's shape for what pool users and the libraries built on `pg`
// touch (Pool, Client, types, DatabaseError, escapeIdentifier, escapeLiteral, defaults), over one
// DatabaseManager per pool: no second pool, no second way to run a query.
const { Pool } = require('./pool')
const { Client } = require('./client')
const { types } = require('./types')
const { defaults } = require('./defaults')
const { escapeIdentifier, escapeLiteral } = require('./escape')
const { DatabaseError } = require('../errors')

module.exports = { Pool, Client, types, defaults, DatabaseError, escapeIdentifier, escapeLiteral }
