// TLS for the throwaway clusters: certificates made at test time, and a cluster that serves them
// with a pg_hba.conf whose roles each exercise one rule of libpq's sslmodes.
//
// Nothing here is committed that could expire: every run makes its own CAs and certificates with
// the `openssl` CLI (EC P-256 keys, SHA-256 signatures: a few milliseconds each, where RSA would
// spend most of the budget on key generation). The certificates carry the extensions strict
// verifiers insist on (a CA:TRUE CA with keyCertSign; leaves with CA:FALSE, an extended key usage
// and, for servers, a subjectAltName), so a rejection in a test is the one the test is about.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { SUPERUSER, startCluster } from './cluster.mjs'

/** Logs in with a client certificate (CN=certuser) over TLS, and no password. */
export const CERT_USER = 'certuser'
/** Can log in only over TLS (scram-sha-256); pg_hba.conf rejects it in plain. */
export const TLS_ONLY_USER = 'tlsonly'
export const TLS_ONLY_PASSWORD = 'tlsonly-secret-pw'
/** Can log in only in plain (scram-sha-256); pg_hba.conf rejects it over TLS. */
export const PLAIN_ONLY_USER = 'plainonly'
export const PLAIN_ONLY_PASSWORD = 'plainonly-secret-pw'
/** Its password is stored as md5 and checked with md5, so SCRAM channel binding cannot happen. */
export const MD5_USER = 'md5user'
export const MD5_PASSWORD = 'md5user-secret-pw'
/** The passphrase of `clientEncryptedKey`. */
export const CLIENT_KEY_PASSWORD = 'client-key-passphrase'

const VALID_DAYS = 7 // longer than any run; nothing outlives it because nothing is kept

// Extension sections, chosen per certificate with -extensions. `prompt = no` and an empty
// distinguished_name keep req from reading the system's openssl.cnf, whose defaults for -x509
// would make every certificate a CA. The [ca] part is only for the expired certificate: OpenSSL
// 3.0's `x509`/`req` cannot set a notBefore/notAfter in the past, `ca` can.
const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_cert]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1
[other_server_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:db.other.test
[client_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = past
[past]
database = index.txt
new_certs_dir = .
default_md = sha256
policy = any
unique_subject = no
rand_serial = yes
[any]
commonName = supplied
`

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-sha256']

function openssl(args, cwd) {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, env: { ...process.env, KEY_PASSWORD: CLIENT_KEY_PASSWORD } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args[0]} failed: ${stderr.trim() || error.message}`))
      else resolve()
    })
  })
}

/** openssl's time format (YYYYMMDDHHMMSSZ) for `days` from now. */
const opensslTime = (days) => new Date(Date.now() + days * 86400000).toISOString().replace(/[-:T]|\.\d+/g, '')

/**
 * Makes the test PKI in `dir` (created if missing, made world-readable so that the server's user
 * can read the certificates) and returns absolute paths: { dir, ca, wrongCa, server, otherServer,
 * expiredServer, client, wrongClient } each { cert, key }, and clientEncryptedKey (client.key as
 * AES-256 PKCS#8, passphrase CLIENT_KEY_PASSWORD). The server keys are 0600 and, as root, owned by
 * the user the server runs as, as PostgreSQL requires; the client keys are the caller's, 0600, as
 * libpq requires. That user must also get through `dir`'s parents: a mkdtemp directory of its own
 * does, a directory inside one (0700) does not. Removing `dir` is the caller's job.
 */
export async function makeCertificates(dir) {
  if (spawnSync('openssl', ['version']).error) {
    throw new Error('openssl not found: the TLS tests make their certificates with it at test time ' +
      '(Debian/Ubuntu: apt-get install openssl)')
  }
  dir = resolve(dir)
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755)
  const scratch = join(dir, '.openssl')
  mkdirSync(scratch, { recursive: true })
  writeFileSync(join(scratch, 'openssl.cnf'), CONFIG)
  writeFileSync(join(scratch, 'index.txt'), '')
  const config = ['-config', join(scratch, 'openssl.cnf')]
  const pair = (name) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) })
  const certs = {
    dir,
    ca: pair('ca'), wrongCa: pair('wrong-ca'),
    server: pair('server'), otherServer: pair('other-server'), expiredServer: pair('expired-server'),
    client: pair('client'), wrongClient: pair('wrong-client'),
    clientEncryptedKey: join(dir, 'client-encrypted.key'),
  }

  const selfSigned = ({ cert, key }, cn) => openssl(['req', '-x509', ...config, '-extensions', 'ca_cert',
    ...NEW_KEY, '-keyout', key, '-out', cert, '-subj', `/CN=${cn}`, '-days', String(VALID_DAYS)])
  const signed = ({ cert, key }, cn, extensions, ca) => openssl(['req', '-x509', ...config, '-extensions', extensions,
    ...NEW_KEY, '-keyout', key, '-out', cert, '-subj', `/CN=${cn}`, '-days', String(VALID_DAYS), '-CA', ca.cert, '-CAkey', ca.key])
  const expired = async ({ cert, key }) => {
    const csr = join(scratch, 'expired.csr')
    await openssl(['req', '-new', ...config, ...NEW_KEY, '-keyout', key, '-out', csr, '-subj', '/CN=localhost'], scratch)
    await openssl(['ca', '-batch', ...config, '-extensions', 'server_cert', '-cert', certs.ca.cert, '-keyfile', certs.ca.key,
      '-in', csr, '-out', cert, '-startdate', opensslTime(-2), '-enddate', opensslTime(-1), '-notext'], scratch)
  }

  await Promise.all([selfSigned(certs.ca, 'pg-rust-pool test CA'), selfSigned(certs.wrongCa, 'pg-rust-pool unrelated CA')])
  await Promise.all([
    signed(certs.server, 'localhost', 'server_cert', certs.ca),
    signed(certs.otherServer, 'db.other.test', 'other_server_cert', certs.ca),
    expired(certs.expiredServer),
    signed(certs.client, CERT_USER, 'client_cert', certs.ca)
      .then(() => openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', certs.client.key,
        '-out', certs.clientEncryptedKey, '-passout', 'env:KEY_PASSWORD'])),
    signed(certs.wrongClient, CERT_USER, 'client_cert', certs.wrongCa),
  ])
  rmSync(scratch, { recursive: true, force: true })

  const keys = [certs.ca, certs.wrongCa, certs.server, certs.otherServer, certs.expiredServer, certs.client, certs.wrongClient]
  for (const path of [...keys.map((k) => k.key), certs.clientEncryptedKey]) chmodSync(path, 0o600)
  if (process.getuid?.() === 0) {
    const serverKeys = [certs.server, certs.otherServer, certs.expiredServer].map((k) => k.key)
    execFileSync('chown', [`${SUPERUSER}:${SUPERUSER}`, ...serverKeys])
  }
  return certs
}

// First match wins, so each role's reject line sits above its accept line. Replication keeps the
// lines initdb writes, for startReplica; the server listens on 127.0.0.1 only, so no ::1 lines.
const HBA = `
local     all          all                          trust
local     replication  all                          trust
hostssl   all          ${CERT_USER}     127.0.0.1/32  cert
hostnossl all          ${TLS_ONLY_USER}      127.0.0.1/32  reject
hostssl   all          ${TLS_ONLY_USER}      127.0.0.1/32  scram-sha-256
hostssl   all          ${PLAIN_ONLY_USER}    127.0.0.1/32  reject
hostnossl all          ${PLAIN_ONLY_USER}    127.0.0.1/32  scram-sha-256
host      all          ${MD5_USER}      127.0.0.1/32  md5
host      all          all          127.0.0.1/32  scram-sha-256
host      replication  all          127.0.0.1/32  scram-sha-256
`

// md5user's password is hashed as md5 for its own CREATE ROLE only; the others get scram.
const ROLES_SQL = `
CREATE ROLE ${CERT_USER} LOGIN;
CREATE ROLE ${TLS_ONLY_USER} LOGIN PASSWORD '${TLS_ONLY_PASSWORD}';
CREATE ROLE ${PLAIN_ONLY_USER} LOGIN PASSWORD '${PLAIN_ONLY_PASSWORD}';
SET password_encryption = 'md5';
CREATE ROLE ${MD5_USER} LOGIN PASSWORD '${MD5_PASSWORD}';
`

/**
 * Starts a cluster (the shape startCluster returns) with ssl=on, serving `certs[serverCert]`,
 * trusting the test CA for client certificates, with the pg_hba.conf above and its roles.
 * `serverCert: null` gives the same roles and rules with ssl=off. `settings` are added last.
 */
export async function startTlsCluster({ certs, serverCert = 'server', settings = {} } = {}) {
  let tls = { ssl: 'off' }
  if (serverCert !== null) {
    const served = certs?.[serverCert]
    if (!served?.cert) throw new Error(`startTlsCluster: no certificate named ${serverCert} in certs (from makeCertificates)`)
    tls = { ssl: 'on', ssl_cert_file: served.cert, ssl_key_file: served.key, ssl_ca_file: certs.ca.cert }
  }
  const cluster = await startCluster({ settings: { ...tls, ...settings }, files: { 'pg_hba.conf': HBA } })
  try {
    await new Promise((resolve, reject) => {
      execFile(join(cluster.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', cluster.socketDir, '-p', String(cluster.port),
        '-U', SUPERUSER, '-d', 'postgres', '-c', ROLES_SQL], (error, stdout, stderr) => {
        if (error) reject(new Error(`creating the TLS test roles failed: ${stderr.trim() || error.message}`))
        else resolve()
      })
    })
  } catch (e) {
    await cluster.stop()
    throw e
  }
  return cluster
}
