// What libpq (through psql) and node-postgres actually do for each sslmode, measured against real
// servers: the ground truth that TLS specs assert against, rather than a reading of the docs.
// `node __test__/harness/tls-truth.mjs` prints markdown tables; it starts and stops its own clusters.
//
// psql runs with HOME set to an empty directory and no PG* variables from our environment, so
// libpq finds no ~/.postgresql/root.crt and no client certificate unless a cell names one.
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { PASSWORD, SUPERUSER } from './cluster.mjs'
import {
  CERT_USER, CLIENT_KEY_PASSWORD, MD5_PASSWORD, MD5_USER, PLAIN_ONLY_PASSWORD, PLAIN_ONLY_USER,
  TLS_ONLY_PASSWORD, TLS_ONLY_USER, makeCertificates, startTlsCluster,
} from './tls.mjs'

const PSQL = '/usr/bin/psql'
const SQL = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']
const SERVERS = ['server', 'otherServer', 'expiredServer', 'plain']
const ROOTS = ['ca', 'wrongCa', 'none']
const HOSTS = ['localhost', '127.0.0.1']
const USERS = { [SUPERUSER]: PASSWORD, [TLS_ONLY_USER]: TLS_ONLY_PASSWORD, [PLAIN_ONLY_USER]: PLAIN_ONLY_PASSWORD }
const CONCURRENCY = 6 // psql runs at once; the machine may have 2 CPUs

const pgVersion = JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('pg')), '..', 'package.json'), 'utf8')).version
const work = mkdtempSync(join(tmpdir(), 'pgrp-tls-truth-'))
chmodSync(work, 0o755) // the server, as user postgres, reads the certificates inside
const home = join(work, 'home')
mkdirSync(home)
const timings = {}
const clusters = {}
const errors = new Map() // normalized message → code, in order of first appearance
const warnings = []
process.on('warning', (w) => warnings.push(w.message.split('\n')[0]))

async function timed(name, fn) {
  const t = performance.now()
  const value = await fn()
  timings[name] = Math.round(performance.now() - t)
  return value
}

/** Runs `jobs` (functions returning promises) at most `limit` at a time, results in order. */
async function pooled(jobs, limit) {
  const results = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await jobs[i]()
    }
  }))
  return results
}

/** Paths and ports vary per run; the tables should not. */
function normalize(message, certs) {
  return message
    .replaceAll(certs.dir, '<certs>').replaceAll(home, '~')
    .replace(/^[0-9A-F]{16}:error:/, 'error:').replace(/port \d+/g, 'port N').replace(/:\d{4,5}\b/g, ':N').replace(/\s+/g, ' ').trim()
}

/**
 * psql with `conninfo`: 'TLS' or 'plain' when it connects, else the first line of each attempt's
 * error (allow and prefer retry with and without TLS; libpq reports each attempt).
 */
function psql(conninfo, { password, env = {} } = {}) {
  const environment = { PATH: process.env.PATH, HOME: home, LANG: 'C', PGCONNECT_TIMEOUT: '10', ...env }
  if (password) environment.PGPASSWORD = password
  return new Promise((resolve) => {
    // Detached, with stdin closed: OpenSSL asks for an encrypted key's passphrase on the terminal.
    const child = execFile(PSQL, ['-X', '-w', '-A', '-t', '-q', '-d', conninfo, '-c', SQL],
      { cwd: home, env: environment, timeout: 20000, detached: true },
      (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, value: stdout.trim() === 't' ? 'TLS' : stdout.trim() === 'f' ? 'plain' : `? ${stdout.trim()}` })
        const attempt = /^(?:psql: error: )?connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed: /
        const lines = stderr.split('\n').filter(Boolean)
        const firsts = lines.filter((line) => attempt.test(line)).map((line) => line.replace(attempt, ''))
        resolve({ ok: false, value: (firsts.length ? firsts : lines.map((l) => l.replace(/^psql: error: /, ''))).join(' ⟶ ') || error.message })
      })
    child.stdin.end()
  })
}

const conninfo = (fields) => Object.entries(fields).filter(([, v]) => v !== undefined)
  .map(([k, v]) => `${k}='${String(v).replace(/'/g, "\\'")}'`).join(' ')

/** node-postgres with a connection string: 'TLS'/'plain' or its error message. */
async function viaPg(connectionString) {
  let client
  try {
    client = new pg.Client({ connectionString, connectionTimeoutMillis: 10000 })
    client.on('error', () => {})
    await client.connect()
    const { rows } = await client.query(SQL)
    await client.end()
    return { ok: true, value: rows[0]?.ssl === true ? 'TLS' : rows[0]?.ssl === false ? 'plain' : '?' }
  } catch (e) {
    client?.end().catch(() => {}) // not awaited: after a failed connect, end() can wait forever
    return { ok: false, value: e.message }
  }
}

function cell(result, certs) {
  if (result.ok) return result.value
  const message = normalize(result.value, certs)
  if (!errors.has(message)) errors.set(message, `E${errors.size + 1}`)
  return `✗ ${errors.get(message)}`
}

const SHORT = { server: 'good', otherServer: 'wrong-name', expiredServer: 'expired', plain: 'ssl=off', ca: 'CA', wrongCa: 'other CA', none: 'none' }

/** One row per sslmode, one column per server × root certificate. */
function grid(title, servers, lookup) {
  const columns = servers.flatMap((s) => ROOTS.map((r) => [s, r]))
  const lines = [`### ${title}`, '',
    `| sslmode | ${columns.map(([s, r]) => `${SHORT[s]} · ${SHORT[r]}`).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`]
  for (const mode of MODES) lines.push(`| ${mode} | ${columns.map(([s, r]) => lookup(mode, s, r)).join(' | ')} |`)
  return lines.join('\n') + '\n'
}

function table(title, rows) {
  return [`### ${title}`, '', '| case | outcome |', '|---|---|', ...rows.map(([c, o]) => `| ${c} | ${o} |`)].join('\n') + '\n'
}

try {
  const certs = await timed('makeCertificates', () => makeCertificates(join(work, 'certs')))
  clusters.server = await timed('startTlsCluster (good cert)', () => startTlsCluster({ certs }))
  clusters.otherServer = await timed('startTlsCluster (wrong-name cert)', () => startTlsCluster({ certs, serverCert: 'otherServer' }))
  clusters.expiredServer = await timed('startTlsCluster (expired cert)', () => startTlsCluster({ certs, serverCert: 'expiredServer' }))
  // ssl=off with the same roles and pg_hba.conf, so tlsonly/plainonly mean the same thing here.
  clusters.plain = await timed('startTlsCluster (serverCert: null, ssl=off)', () => startTlsCluster({ certs, serverCert: null }))
  const rootcert = (r) => (r === 'none' ? undefined : certs[r].cert)

  // 1. libpq: mode × server × root × host × user.
  const cells = []
  for (const user of Object.keys(USERS)) for (const host of HOSTS) for (const server of SERVERS) for (const root of ROOTS) for (const mode of MODES) {
    cells.push({ user, host, server, root, mode })
  }
  const started = performance.now()
  const outcomes = await pooled(cells.map((c) => () => psql(conninfo({
    host: c.host, port: clusters[c.server].port, user: c.user, dbname: 'postgres', sslmode: c.mode, sslrootcert: rootcert(c.root),
  }), { password: USERS[c.user] })), CONCURRENCY)
  timings[`${cells.length} psql runs`] = Math.round(performance.now() - started)
  const libpq = new Map(cells.map((c, i) => [`${c.user}|${c.host}|${c.server}|${c.root}|${c.mode}`, outcomes[i]]))
  const libpqCell = (user, host) => (mode, server, root) => cell(libpq.get(`${user}|${host}|${server}|${root}|${mode}`), certs)

  const out = ['# TLS ground truth', '',
    `${execFileSync(PSQL, ['--version'], { encoding: 'utf8' }).trim()} (${PSQL}), node-postgres ${pgVersion}.`,
    'Servers: good = cert for localhost + 127.0.0.1 signed by the test CA; wrong-name = same CA, only DNS:db.other.test;',
    'expired = good but expired yesterday; ssl=off = no TLS. Root: the sslrootcert given (CA = the test CA, other CA = an',
    'unrelated CA, none = no sslrootcert and no ~/.postgresql/root.crt). TLS / plain = connected, and pg_stat_ssl.ssl.', '']
  out.push('## libpq (psql)', '')
  for (const user of Object.keys(USERS)) {
    out.push(grid(`libpq, user ${user}, host localhost`, SERVERS, libpqCell(user, 'localhost')))
    // 127.0.0.1 only where it differs, so that the IP SAN check shows without a second full table.
    const differing = cells.filter((c) => c.user === user && c.host === '127.0.0.1').filter((c) => {
      const a = libpq.get(`${user}|127.0.0.1|${c.server}|${c.root}|${c.mode}`)
      const b = libpq.get(`${user}|localhost|${c.server}|${c.root}|${c.mode}`)
      return a.ok !== b.ok || normalize(a.value, certs) !== normalize(b.value, certs).replace(/"localhost"/g, '"127.0.0.1"')
    })
    if (differing.length === 0) out.push(`host 127.0.0.1, user ${user}: every cell as for localhost.`, '')
    else {
      out.push(`host 127.0.0.1, user ${user}: cells that differ from localhost:`, '')
      for (const c of differing) out.push(`- ${c.mode} · ${SHORT[c.server]} · ${SHORT[c.root]}: ${libpqCell(user, '127.0.0.1')(c.mode, c.server, c.root)}`)
      out.push('')
    }
  }

  // 2. libpq extras: client certificates, channel binding, sslrootcert=system.
  const good = clusters.server.port
  const base = (fields) => conninfo({ host: 'localhost', port: good, dbname: 'postgres', ...fields })
  const extras = [
    ['certuser, client cert + key, CA, verify-full', base({ user: CERT_USER, sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.client.key })],
    ['certuser, cert signed by the other CA, verify-full', base({ user: CERT_USER, sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.wrongClient.cert, sslkey: certs.wrongClient.key })],
    ['certuser, no client cert, verify-full', base({ user: CERT_USER, sslmode: 'verify-full', sslrootcert: certs.ca.cert })],
    ['certuser, encrypted key, right sslpassword', base({ user: CERT_USER, sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.clientEncryptedKey, sslpassword: CLIENT_KEY_PASSWORD })],
    ['certuser, encrypted key, wrong sslpassword', base({ user: CERT_USER, sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.clientEncryptedKey, sslpassword: 'wrong' })],
    ['certuser, encrypted key, no sslpassword', base({ user: CERT_USER, sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.clientEncryptedKey })],
    ['certuser, sslmode=disable (plain: falls to the scram line, no password)', base({ user: CERT_USER, sslmode: 'disable' })],
    ['postgres, channel_binding=require, sslmode=require', base({ user: SUPERUSER, sslmode: 'require', channel_binding: 'require' }), { password: PASSWORD }],
    ['postgres, channel_binding=require, sslmode=disable', base({ user: SUPERUSER, sslmode: 'disable', channel_binding: 'require' }), { password: PASSWORD }],
    ['postgres, channel_binding=require, ssl=off server, sslmode=prefer', conninfo({ host: 'localhost', port: clusters.plain.port, dbname: 'postgres', user: SUPERUSER, sslmode: 'prefer', channel_binding: 'require' }), { password: PASSWORD }],
    ['postgres, wrong password, sslmode=prefer', base({ user: SUPERUSER, sslmode: 'prefer' }), { password: 'wrong' }],
    ['postgres, wrong password, sslmode=allow', base({ user: SUPERUSER, sslmode: 'allow' }), { password: 'wrong' }],
    ['md5user, sslmode=require (no channel_binding)', base({ user: MD5_USER, sslmode: 'require' }), { password: MD5_PASSWORD }],
    ['md5user, channel_binding=require, sslmode=require', base({ user: MD5_USER, sslmode: 'require', channel_binding: 'require' }), { password: MD5_PASSWORD }],
    ['sslrootcert=system, SSL_CERT_FILE=CA, sslmode unset', base({ user: SUPERUSER, sslrootcert: 'system' }), { password: PASSWORD, env: { SSL_CERT_FILE: certs.ca.cert } }],
    ['sslrootcert=system, SSL_CERT_FILE=CA, sslmode=require', base({ user: SUPERUSER, sslrootcert: 'system', sslmode: 'require' }), { password: PASSWORD, env: { SSL_CERT_FILE: certs.ca.cert } }],
    ['sslrootcert=system, SSL_CERT_FILE=CA, sslmode=verify-full', base({ user: SUPERUSER, sslrootcert: 'system', sslmode: 'verify-full' }), { password: PASSWORD, env: { SSL_CERT_FILE: certs.ca.cert } }],
    ['no sslrootcert, SSL_CERT_FILE=CA, sslmode=verify-full', base({ user: SUPERUSER, sslmode: 'verify-full' }), { password: PASSWORD, env: { SSL_CERT_FILE: certs.ca.cert } }],
  ]
  const extraOutcomes = await pooled(extras.map(([, info, options]) => () => psql(info, options)), CONCURRENCY)
  out.push(table('libpq extras (server: good cert, host localhost)', extras.map(([name], i) => [name, cell(extraOutcomes[i], certs)])))

  // 3. node-postgres: mode × server × root, user postgres, host localhost, as is and libpq-compatible.
  for (const compat of [false, true]) {
    const results = new Map()
    for (const server of SERVERS) for (const root of ROOTS) for (const mode of MODES) {
      let url = `postgres://${SUPERUSER}:${PASSWORD}@localhost:${clusters[server].port}/postgres?sslmode=${mode}`
      if (root !== 'none') url += `&sslrootcert=${encodeURIComponent(certs[root].cert)}`
      if (compat) url += '&uselibpqcompat=true'
      results.set(`${server}|${root}|${mode}`, await viaPg(url))
    }
    out.push(grid(`node-postgres${compat ? ', uselibpqcompat=true' : ''}, user postgres, host localhost`, SERVERS,
      (mode, server, root) => cell(results.get(`${server}|${root}|${mode}`), certs)))
    // Where pg parts from libpq, cell by cell (libpq's localhost/postgres outcome on the right).
    const diffs = []
    for (const server of SERVERS) for (const root of ROOTS) for (const mode of MODES) {
      const mine = cell(results.get(`${server}|${root}|${mode}`), certs)
      const theirs = libpqCell(SUPERUSER, 'localhost')(mode, server, root)
      const same = mine === theirs || (mine.startsWith('✗') && theirs.startsWith('✗'))
      if (!same) diffs.push(`- ${mode} · ${SHORT[server]} · ${SHORT[root]}: pg ${mine}, libpq ${theirs}`)
    }
    out.push(`Differs from libpq in outcome (connects / TLS / plain / fails) in ${diffs.length} of ${results.size} cells:`, '', ...diffs, '')
  }

  // 4. node-postgres extras.
  const pgBase = (query, user = CERT_USER, password = '') => `postgres://${user}${password ? `:${password}` : ''}@localhost:${good}/postgres?${query}`
  const q = (fields) => Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
  const pgExtras = [
    ['certuser, client cert + key, verify-full', pgBase(q({ sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.client.key }))],
    ['certuser, cert signed by the other CA', pgBase(q({ sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.wrongClient.cert, sslkey: certs.wrongClient.key }))],
    ['certuser, encrypted key, sslpassword=right', pgBase(q({ sslmode: 'verify-full', sslrootcert: certs.ca.cert, sslcert: certs.client.cert, sslkey: certs.clientEncryptedKey, sslpassword: CLIENT_KEY_PASSWORD }))],
    ['postgres, sslrootcert=system, sslmode=verify-full', pgBase(q({ sslmode: 'verify-full', sslrootcert: 'system' }), SUPERUSER, PASSWORD)],
  ]
  const pgExtraRows = []
  for (const [name, url] of pgExtras) pgExtraRows.push([name, cell(await viaPg(url), certs)])
  out.push(table('node-postgres extras (server: good cert, host localhost)', pgExtraRows))

  out.push('## Errors', '', '| code | message (libpq: one line per attempt, joined by ⟶) |', '|---|---|')
  for (const [message, code] of errors) out.push(`| ${code} | ${message.replace(/\|/g, '\\|')} |`)
  out.push('', '## Timings (ms)', '', ...Object.entries(timings).map(([k, v]) => `- ${k}: ${v}`))
  if (warnings.length) out.push('', '## Warnings node-postgres emitted (first lines)', '', ...[...new Set(warnings)].map((w) => `- ${w}`))
  console.log(out.join('\n'))
} finally {
  await Promise.all(Object.values(clusters).map((c) => c.stop()))
  rmSync(work, { recursive: true, force: true })
}
