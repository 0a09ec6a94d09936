'use strict'
// `require('pg-rust-pool/pg')`: a `pg`-shaped module over pg-rust-pool (see docs/pg-compat.md).
module.exports = require('./lib/pg')
