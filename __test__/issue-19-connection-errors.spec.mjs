// Connection errors point the right way (issue 19): a port answered by something that is not
// PostgreSQL says so, and a password with a `%` pasted into a URL says how to write it, instead
// of "bytes remaining on stream" and a bare 28P01.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { DatabaseManager, withManager, observer } from './helpers.mjs'

/** A TCP server on loopback that answers every connection with `reply`, then closes it. */
async function impostor(reply) {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => socket.end(reply))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

test('a port answered by another service is named as such, in every sslmode that tries it', async () => {
  const server = await impostor('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')
  try {
    for (const sslmode of ['disable', 'prefer']) {
      await withManager({ host: '127.0.0.1', port: server.address().port, sslmode, logLevel: 'off' }, async (db) => {
        const e = await db.query('SELECT 1').catch((e) => e)
        assert.equal(e.code, 'CONNECTION_ERROR', e.message)
        assert.match(e.message, new RegExp(`the service at postgres@127.0.0.1:${server.address().port}/postgres did not answer as PostgreSQL does: check \`port\``))
      })
    }
  } finally {
    server.close()
  }
})

test('a server that closes the connection at once is not reported as a query that was cut', async () => {
  const server = await impostor('')
  try {
    await withManager({ host: '127.0.0.1', port: server.address().port, sslmode: 'disable', logLevel: 'off' }, async (db) => {
      const e = await db.query('SELECT 1').catch((e) => e)
      assert.equal(e.code, 'CONNECTION_ERROR', e.message)
      assert.match(e.message, /closed the connection before it was ready .*check that PostgreSQL is running there/)
    })
  } finally {
    server.close()
  }
})

test('a `%` in a URL password that fails authentication says how to write it', async () => {
  const role = 'pgrp_percent_user'
  const password = 'pa%41ss' // what the user means; as a URL, %41 is "A"
  const admin = await observer()
  try {
    await admin.query(`DROP ROLE IF EXISTS ${role}`)
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`)
    const base = `127.0.0.1:${process.env.PGPORT}/postgres`
    await withManager({ connectionString: `postgres://${role}:${password}@${base}`, logLevel: 'off' }, async (db) => {
      const e = await db.query('SELECT 1').catch((e) => e)
      assert.equal(e.code, '28P01', e.message)
      assert.match(e.message, /the password in `connectionString` has a `%`, which a URL reads as an escape .* write a literal % as %25/)
      assert.ok(!e.message.includes(password), e.message)
    })
    // Encoded, the same password works; and `/`, `:`, `#` and `?` need no encoding to be read right.
    await withManager({ connectionString: `postgres://${role}:${encodeURIComponent(password)}@${base}` }, async (db) => {
      assert.equal((await db.query('SELECT current_user AS u')).rows[0].u, role)
    })
    await admin.query(`ALTER ROLE ${role} PASSWORD 'a/b:c#d?e'`)
    await withManager({ connectionString: `postgres://${role}:a/b:c#d?e@${base}` }, async (db) => {
      assert.equal((await db.query('SELECT current_user AS u')).rows[0].u, role)
    })
  } finally {
    await admin.query(`DROP ROLE IF EXISTS ${role}`)
    await admin.end()
  }
})
