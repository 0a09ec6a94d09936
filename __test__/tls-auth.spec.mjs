// TLS beyond the sslmode matrix (issue 19, acceptance 3, 4 and 5): client-certificate login, an
// encrypted key with sslpassword, SCRAM channel binding, sslrootcert=system, an expired server
// certificate, node-postgres's `ssl` shapes, PGSSLMODE from the environment, a transaction
// timeout's cancel over verify-full, and no secret in any error, log line (at trace) or
// String(manager). Against real servers with certificates made at test time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { DatabaseManager, uniqueName, until } from './helpers.mjs'
import {
  makeCertificates, startTlsCluster, CERT_USER, MD5_USER, MD5_PASSWORD, TLS_ONLY_USER, TLS_ONLY_PASSWORD,
  CLIENT_KEY_PASSWORD,
} from './harness/tls.mjs'

// No ~/.postgresql/root.crt may change a mode's meaning here (libpq reads it by default).
process.env.HOME = mkdtempSync(join(tmpdir(), 'pgrp-home-'))
for (const name of Object.keys(process.env)) if (/^(PG|DB_)/.test(name)) delete process.env[name]
const certDir = mkdtempSync(join(tmpdir(), 'pgrp-certs-'))
const certs = await makeCertificates(certDir)
const server = await startTlsCluster({ certs })
const expired = await startTlsCluster({ certs, serverCert: 'expiredServer' })

test.after(async () => {
  await Promise.all([server.stop(), expired.stop()])
  rmSync(certDir, { recursive: true, force: true })
  rmSync(process.env.HOME, { recursive: true, force: true })
})

const url = (cluster, user = `postgres:${cluster.password}`) => `postgres://${user}@localhost:${cluster.port}/postgres`
const verifyFull = `sslmode=verify-full&sslrootcert=${certs.ca.cert}`

/** Everything a manager says: its log lines at trace, through the `logger` option. */
function recorder() {
  const lines = []
  return { lines, logger: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields)}`) }
}

/** What the server says about the connection that runs the query. */
async function sslOf(db) {
  const { rows } = await db.query('SELECT ssl, version, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  return rows[0]
}

/** Runs fn with a manager and always closes it. */
async function using(options, fn) {
  const db = new DatabaseManager({ connectionTimeoutMillis: 5000, ...options })
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/** The error a manager's first query rejects with. */
async function failure(options) {
  return using(options, (db) => db.query('SELECT 1').then(() => assert.fail('connected'), (e) => e))
}

function assertNoSecret(texts, secrets) {
  for (const text of texts) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `leaks ${secret}: ${text}`)
    assert.ok(!/PRIVATE KEY|BEGIN CERTIFICATE/.test(text), `shows key material: ${text}`)
  }
}

test('client-certificate login (hostssl … cert): the server sees the certificate\'s name', async () => {
  const keyPem = readFileSync(certs.client.key, 'utf8')
  const cases = [
    { connectionString: `${url(server, CERT_USER)}?${verifyFull}&sslcert=${certs.client.cert}&sslkey=${certs.client.key}` },
    { connectionString: url(server, CERT_USER), sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.client.key },
    // node-postgres's shape: PEM inline.
    { connectionString: url(server, CERT_USER), ssl: { ca: readFileSync(certs.ca.cert), cert: readFileSync(certs.client.cert, 'utf8'), key: keyPem } },
  ]
  for (const options of cases) {
    await using(options, async (db) => {
      assert.deepEqual(await sslOf(db), { ssl: true, version: 'TLSv1.3', client_dn: `/CN=${CERT_USER}` })
      assertNoSecret([String(db), inspect(db)], [keyPem.slice(40, 80)])
    })
  }
})

test('an encrypted client key opens with sslpassword; a wrong or missing password is INVALID_CONFIG without secrets', async () => {
  const base = `${url(server, CERT_USER)}?${verifyFull}&sslcert=${certs.client.cert}&sslkey=${certs.clientEncryptedKey}`
  const log = recorder()
  await using({ connectionString: base, sslpassword: CLIENT_KEY_PASSWORD, logLevel: 'trace', logger: log.logger }, async (db) => {
    assert.equal((await sslOf(db)).client_dn, `/CN=${CERT_USER}`)
    assertNoSecret([String(db), inspect(db), JSON.stringify(db.getPoolStatistics()), db.metrics()], [CLIENT_KEY_PASSWORD])
  })
  await using({ connectionString: base, ssl: { passphrase: CLIENT_KEY_PASSWORD, ca: readFileSync(certs.ca.cert) } }, async (db) => {
    assert.equal((await sslOf(db)).client_dn, `/CN=${CERT_USER}`)
  })
  const wrong = 'Not-The-Key-Password-42'
  for (const [options, pattern] of [
    [{ connectionString: base, sslpassword: wrong }, /`sslpassword` does not decrypt the key in the sslkey in `connectionString`, .*client-encrypted\.key: check the password/],
    [{ connectionString: `${base}&sslpassword=${wrong}` }, /does not decrypt/],
    [{ connectionString: base }, /is encrypted: give its password in `sslpassword`/],
  ]) {
    const e = (() => { try { new DatabaseManager(options) } catch (e) { return e } })()
    assert.equal(e?.code, 'INVALID_CONFIG', String(e))
    assert.match(e.message, pattern)
    assertNoSecret([e.message, e.stack, inspect(e)], [wrong, CLIENT_KEY_PASSWORD])
  }
  assertNoSecret(log.lines, [CLIENT_KEY_PASSWORD])
})

test('a rejected client certificate and a missing one fail with their codes', async () => {
  let e = await failure({ connectionString: `${url(server, CERT_USER)}?${verifyFull}&sslcert=${certs.wrongClient.cert}&sslkey=${certs.wrongClient.key}` })
  assert.equal(e.code, 'TLS_CLIENT_CERT_REJECTED', e.message)
  assert.match(e.message, new RegExp(`the server at ${CERT_USER}@localhost:${server.port}/postgres rejected this pool's client certificate`))
  e = await failure({ connectionString: `${url(server, CERT_USER)}?${verifyFull}` })
  assert.equal(e.code, '28000', e.message)
  assert.match(e.message, /requires a valid client certificate/)
})

test('certificate files that cannot be used are INVALID_CONFIG naming the option and the path', () => {
  const missing = join(certDir, 'no-such.pem')
  for (const [options, pattern] of [
    [{ sslmode: 'verify-full', sslrootcert: missing }, /`sslrootcert` names .*no-such\.pem, which cannot be read \(entity not found\)/],
    [{ sslmode: 'require', sslcert: certs.client.cert, sslkey: missing }, /`sslkey` names .*no-such\.pem, which cannot be read/],
    [{ sslmode: 'verify-full', sslrootcert: certs.client.key }, /`sslrootcert`, .*client\.key holds no PEM certificates/],
    [{ sslmode: 'require', sslcert: certs.client.cert, sslkey: certs.ca.cert }, /`sslkey`, .*ca\.crt holds no PEM private key/],
    [{ sslmode: 'verify-full' }, /sslmode=verify-full \(`sslmode`\) checks the server's certificate, so it needs root certificates: set `sslrootcert`/],
    [{ ssl: false, sslmode: 'verify-full' }, /`sslmode` \(verify-full\) contradicts `ssl: false` \(disable\)|`ssl: false` \(disable\) contradicts `sslmode` \(verify-full\)/],
    [{ sslrootcert: 'system', sslmode: 'require' }, /sslrootcert=system .* verify-full/],
  ]) {
    const e = (() => { try { new DatabaseManager({ port: server.port, ...options }) } catch (e) { return e } })()
    assert.equal(e?.code, 'INVALID_CONFIG', `${JSON.stringify(options)}: ${e}`)
    assert.match(e.message, pattern)
    assertNoSecret([e.message], [])
  }
})

test('channel_binding=require binds SCRAM to TLS, and fails clearly where the server cannot bind', async () => {
  await using({ connectionString: `${url(server)}?${verifyFull}&channel_binding=require` }, async (db) => {
    assert.equal((await sslOf(db)).ssl, true)
  })
  await using({ connectionString: `postgres://${TLS_ONLY_USER}:${TLS_ONLY_PASSWORD}@localhost:${server.port}/postgres`, sslmode: 'require', channelBinding: 'require' }, async (db) => {
    assert.equal((await sslOf(db)).ssl, true)
  })
  // md5 authentication has no channel binding.
  const e = await failure({ connectionString: `postgres://${MD5_USER}:${MD5_PASSWORD}@localhost:${server.port}/postgres?sslmode=require&channel_binding=require` })
  assert.equal(e.code, 'CHANNEL_BINDING_UNAVAILABLE', e.message)
  assert.match(e.message, /did not use channel binding: it needs TLS and a user whose password is stored as SCRAM-SHA-256/)
  assertNoSecret([e.message], [MD5_PASSWORD])
  // Channel binding needs TLS: refused before any connection.
  const refused = (() => { try { new DatabaseManager({ sslmode: 'disable', channelBinding: 'require' }) } catch (e) { return e } })()
  assert.equal(refused?.code, 'INVALID_CONFIG')
  assert.match(refused.message, /channel binding needs TLS/)
})

test('sslrootcert=system checks against the operating system\'s trust store (SSL_CERT_FILE here) with verify-full', async () => {
  // rustls-native-certs reads SSL_CERT_FILE, as OpenSSL does: the test CA stands in for the
  // system's roots without touching the machine's store.
  process.env.SSL_CERT_FILE = certs.ca.cert
  try {
    await using({ connectionString: `${url(server)}?sslrootcert=system` }, async (db) => {
      assert.match(String(db), /sslmode=verify-full profile=development\)$/)
      assert.equal((await sslOf(db)).ssl, true)
    })
    // node-postgres's `ssl: true` checks against the same roots.
    await using({ connectionString: url(server), ssl: true }, async (db) => assert.equal((await sslOf(db)).ssl, true))
    process.env.SSL_CERT_FILE = certs.wrongCa.cert
    const e = await failure({ connectionString: `${url(server)}?sslrootcert=system` })
    assert.equal(e.code, 'TLS_UNKNOWN_CA', e.message)
  } finally {
    delete process.env.SSL_CERT_FILE
  }
})

test('an expired server certificate fails verify-ca and verify-full with TLS_CERT_EXPIRED; require does not check it', async () => {
  for (const mode of ['verify-ca', 'verify-full']) {
    const e = await failure({ connectionString: `${url(expired)}?sslmode=${mode}&sslrootcert=${certs.ca.cert}` })
    assert.equal(e.code, 'TLS_CERT_EXPIRED', e.message)
    assert.match(e.message, new RegExp(`the certificate of the server at postgres@localhost:${expired.port}/postgres has expired`))
  }
  await using({ connectionString: `${url(expired)}?sslmode=require` }, async (db) => assert.equal((await sslOf(db)).ssl, true))
})

test('PGSSLMODE=require in the environment is honoured: TLS, never plain text', async () => {
  process.env.PGSSLMODE = 'require'
  try {
    await using({ host: 'localhost', port: server.port, password: server.password }, async (db) => {
      assert.match(String(db), /sslmode=require profile=development\)$/)
      assert.equal((await sslOf(db)).ssl, true)
    })
    // DB_SSLMODE, this application's own variable, comes first.
    process.env.DB_SSLMODE = 'disable'
    await using({ host: 'localhost', port: server.port, password: server.password }, async (db) => {
      assert.equal((await sslOf(db)).ssl, false)
    })
  } finally {
    delete process.env.PGSSLMODE
    delete process.env.DB_SSLMODE
  }
})

test('getHealthStatus() says whether the checked connection is encrypted, with protocol and cipher', async () => {
  await using({ connectionString: `${url(server)}?${verifyFull}` }, async (db) => {
    const h = await db.getHealthStatus()
    assert.equal(h.status, 'healthy', JSON.stringify(h.error))
    assert.equal(h.encrypted, true)
    assert.equal(h.tls.version, 'TLSv1.3')
    assert.match(h.tls.cipher, /^TLS_/)
  })
  await using({ connectionString: `${url(server)}?sslmode=disable` }, async (db) => {
    const h = await db.getHealthStatus()
    assert.deepEqual([h.encrypted, h.tls], [false, null])
  })
})

test('executeTransaction timeoutMillis over verify-full cancels the statement on the server', async () => {
  const applicationName = uniqueName('tls-cancel')
  await using({ connectionString: `${url(server)}?${verifyFull}`, max: 1, applicationName }, async (db) => {
    let pid
    const started = Date.now()
    const e = await db.executeTransaction(async (client) => {
      pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      await client.query('SELECT pg_sleep(10)')
    }, { timeoutMillis: 300 }).catch((e) => e)
    assert.equal(e.code, 'TRANSACTION_TIMEOUT', e.message)
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`)
    // The same (only) connection answers the next query: the backend is idle again, the
    // statement gone; a cancel sent in plain text or not at all would leave pg_sleep running.
    const { rows } = await db.query('SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [applicationName])
    assert.deepEqual(rows, [])
    const me = await db.query('SELECT pg_backend_pid() AS pid, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl')
    assert.deepEqual(me.rows[0], { pid, ssl: true })
  })
})

test('no error, log line at trace, String(manager) or statistic shows a password or key password', async () => {
  const log = recorder()
  const seen = []
  const attempts = [
    { connectionString: `${url(server)}?sslmode=verify-full&sslrootcert=${certs.wrongCa.cert}` },
    { connectionString: `${url(server, CERT_USER)}?${verifyFull}&sslcert=${certs.client.cert}&sslkey=${certs.clientEncryptedKey}`, sslpassword: CLIENT_KEY_PASSWORD },
    { connectionString: `${url(server, `${TLS_ONLY_USER}:wrong-${TLS_ONLY_PASSWORD}`)}?sslmode=require` },
    { connectionString: `${url(server)}?sslmode=disable`, user: TLS_ONLY_USER, password: TLS_ONLY_PASSWORD },
  ]
  for (const options of attempts) {
    await using({ ...options, logLevel: 'trace', logger: log.logger }, async (db) => {
      const outcome = await db.query('SELECT 1').catch((e) => e)
      if (outcome instanceof Error) seen.push(outcome.message, outcome.stack, inspect(outcome))
      seen.push(String(db), JSON.stringify(db.getPoolStatistics()), db.metrics())
    })
  }
  // Log lines arrive asynchronously.
  await until(() => log.lines.length > 4, { what: 'the managers\' log lines' })
  assertNoSecret([...seen, ...log.lines], [CLIENT_KEY_PASSWORD, TLS_ONLY_PASSWORD, server.password])
})
