// libpq's six sslmodes, cell by cell (issue 19, acceptance 2): each mode × four servers (TLS with
// a certificate for localhost, TLS with a certificate for another name, TLS with an expired
// certificate, no TLS) × three root certificates (the CA that signed the server's certificate,
// an unrelated CA, none). The expected outcome of every cell is libpq 15's, measured with psql
// (`node __test__/harness/tls-truth.mjs` prints the tables); where a connection succeeds, the
// server's pg_stat_ssl says whether it is encrypted. The same cells run through node-postgres
// with `uselibpqcompat=true`, which matches libpq except where the README's TLS section says.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { DatabaseManager } from './helpers.mjs'
import { makeCertificates, startTlsCluster, TLS_ONLY_USER, TLS_ONLY_PASSWORD, PLAIN_ONLY_USER, PLAIN_ONLY_PASSWORD } from './harness/tls.mjs'

// No ~/.postgresql/root.crt may turn "none" into a root certificate (libpq reads it by default).
process.env.HOME = mkdtempSync(join(tmpdir(), 'pgrp-home-'))
for (const name of Object.keys(process.env)) if (/^(PG|DB_)/.test(name)) delete process.env[name]
const certDir = mkdtempSync(join(tmpdir(), 'pgrp-certs-'))
const certs = await makeCertificates(certDir)
const SERVERS = { good: 'server', 'wrong-name': 'otherServer', expired: 'expiredServer', 'no-tls': null }
const clusters = Object.fromEntries(await Promise.all(Object.entries(SERVERS).map(async ([name, serverCert]) =>
  [name, await startTlsCluster({ certs, serverCert })])))
const ROOTS = { CA: certs.ca.cert, other: certs.wrongCa.cert, none: null }

test.after(async () => {
  await Promise.all(Object.values(clusters).map((c) => c.stop()))
  rmSync(certDir, { recursive: true, force: true })
  rmSync(process.env.HOME, { recursive: true, force: true })
})

// libpq 15 (psql), user postgres, host localhost. A cell is TLS or plain (connected, and what
// pg_stat_ssl said) or the code pg-rust-pool fails with where libpq fails too:
// CA = TLS_UNKNOWN_CA ("certificate verify failed"), EXP = TLS_CERT_EXPIRED (libpq says the same;
// an expired certificate from an unknown CA is reported as expired, which is checked first),
// NAME = TLS_HOSTNAME_MISMATCH, NOTLS = TLS_NOT_SUPPORTED ("server does not support SSL, but SSL
// was required"), ROOT = INVALID_CONFIG from the constructor (libpq fails at connect time: "root
// certificate file … does not exist"; on the server without TLS it says NOTLS's words first).
//                  good: CA other none   wrong-name: CA other none   expired: CA other none   no-tls: CA other none
const LIBPQ = {
  disable: /*  */ ['plain plain plain', 'plain plain plain', 'plain plain plain', 'plain plain plain'],
  allow: /*    */ ['plain plain plain', 'plain plain plain', 'plain plain plain', 'plain plain plain'],
  prefer: /*   */ ['TLS plain TLS', 'TLS plain TLS', 'plain plain TLS', 'plain plain plain'],
  require: /*  */ ['TLS CA TLS', 'TLS CA TLS', 'EXP EXP TLS', 'NOTLS NOTLS NOTLS'],
  'verify-ca': ['TLS CA ROOT', 'TLS CA ROOT', 'EXP EXP ROOT', 'NOTLS NOTLS ROOT'],
  'verify-full': ['TLS CA ROOT', 'NAME CA ROOT', 'EXP EXP ROOT', 'NOTLS NOTLS ROOT'],
}

// The users whose pg_hba.conf lines show allow's and prefer's second attempt (libpq, same cells).
// tlsonly: plain text is rejected (28000); plainonly: TLS is rejected.
//                   good: CA other none   wrong-name        expired           no-tls
const FALLBACK = {
  [`${TLS_ONLY_USER} allow`]: ['TLS CA TLS', 'TLS CA TLS', 'EXP EXP TLS', '28000 28000 28000'],
  [`${TLS_ONLY_USER} prefer`]: ['TLS 28000 TLS', 'TLS 28000 TLS', '28000 28000 TLS', '28000 28000 28000'],
  [`${PLAIN_ONLY_USER} prefer`]: ['plain plain plain', 'plain plain plain', 'plain plain plain', 'plain plain plain'],
  [`${PLAIN_ONLY_USER} require`]: ['28000 CA 28000', '28000 CA 28000', 'EXP EXP 28000', 'NOTLS NOTLS NOTLS'],
}

// node-postgres 8 with uselibpqcompat=true differs from libpq in these cells (README, TLS):
// allow is verify-full, and prefer never falls back to plain text nor checks a root certificate.
const PG_DIFFERS = {
  allow: ['TLS fail fail', 'fail fail fail', 'fail fail fail', 'fail fail fail'],
  prefer: ['TLS TLS TLS', 'TLS TLS TLS', 'TLS TLS TLS', 'fail fail fail'],
}

const PASSWORDS = { [TLS_ONLY_USER]: TLS_ONLY_PASSWORD, [PLAIN_ONLY_USER]: PLAIN_ONLY_PASSWORD }

/** The cells of a row: [server, root, expected]. */
function cells(row) {
  const servers = Object.keys(SERVERS)
  return row.flatMap((group, i) => group.split(' ').map((expected, j) => [servers[i], Object.keys(ROOTS)[j], expected]))
}

function url(server, user, mode, root) {
  const cluster = clusters[server]
  const password = PASSWORDS[user] ?? cluster.password
  return `postgres://${user}:${password}@localhost:${cluster.port}/postgres?sslmode=${mode}` +
    (ROOTS[root] ? `&sslrootcert=${ROOTS[root]}` : '')
}

const CODES = {
  CA: 'TLS_UNKNOWN_CA', EXP: 'TLS_CERT_EXPIRED', NAME: 'TLS_HOSTNAME_MISMATCH', NOTLS: 'TLS_NOT_SUPPORTED', ROOT: 'INVALID_CONFIG',
}

/** What pg-rust-pool does: 'TLS', 'plain', or its error code. */
async function ours(connectionString) {
  let db
  try {
    db = new DatabaseManager({ connectionString, connectionTimeoutMillis: 5000, logLevel: 'off' })
    const { rows } = await db.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    return rows[0].ssl ? 'TLS' : 'plain'
  } catch (e) {
    return e.code
  } finally {
    await db?.close()
  }
}

/** What node-postgres does: 'TLS', 'plain' or 'fail'. */
async function theirs(connectionString) {
  let client
  try {
    client = new pg.Client({ connectionString: `${connectionString}&uselibpqcompat=true`, connectionTimeoutMillis: 5000 })
    await client.connect()
    const { rows } = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    await client.end()
    return rows[0].ssl ? 'TLS' : 'plain'
  } catch {
    // Not awaited: after a failed connect, pg's end() has been seen to wait forever.
    client?.end().catch(() => {})
    return 'fail'
  }
}

for (const [mode, row] of Object.entries(LIBPQ)) {
  test(`sslmode=${mode}: every cell as libpq, through pg-rust-pool and pg`, async () => {
    const pgRow = PG_DIFFERS[mode] ?? row
    const pgCells = cells(pgRow)
    for (const [i, [server, root, expected]] of cells(row).entries()) {
      const where = `${mode}, server ${server}, root ${root}`
      const connectionString = url(server, 'postgres', mode, root)
      assert.equal(await ours(connectionString), CODES[expected] ?? expected, where)
      const pgExpected = pgCells[i][2]
      assert.equal(await theirs(connectionString), ['TLS', 'plain'].includes(pgExpected) ? pgExpected : 'fail', `pg: ${where}`)
    }
  })
}

for (const [name, row] of Object.entries(FALLBACK)) {
  const [user, mode] = name.split(' ')
  test(`sslmode=${mode} for ${user}: the second attempt as libpq makes it`, async () => {
    for (const [server, root, expected] of cells(row)) {
      assert.equal(await ours(url(server, user, mode, root)), CODES[expected] ?? expected, `${name}, server ${server}, root ${root}`)
    }
  })
}

test('host 127.0.0.1 is checked against the certificate\'s IP address', async () => {
  const ip = (server, mode) => url(server, 'postgres', mode, 'CA').replace('@localhost:', '@127.0.0.1:')
  assert.equal(await ours(ip('good', 'verify-full')), 'TLS')
  assert.equal(await ours(ip('wrong-name', 'verify-full')), 'TLS_HOSTNAME_MISMATCH')
  assert.equal(await ours(ip('wrong-name', 'verify-ca')), 'TLS')
})

test('a hostname mismatch names the host and the names the certificate is for', async () => {
  const db = new DatabaseManager({ connectionString: url('wrong-name', 'postgres', 'verify-full', 'CA'), logLevel: 'off' })
  const e = await db.query('SELECT 1').catch((e) => e)
  await db.close()
  assert.equal(e.code, 'TLS_HOSTNAME_MISMATCH')
  assert.match(e.message, new RegExp(`server at postgres@localhost:${clusters['wrong-name'].port}/postgres is not valid for that host name \\(it is for DnsName\\("db.other.test"\\)|db.other.test`))
  assert.match(e.message, /sslmode=verify-ca/)
})
