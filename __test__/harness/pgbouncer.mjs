// A PgBouncer in front of a harness cluster (issue 25): the real pgbouncer binary, in transaction
// pooling mode by default, with a few server connections so that its clients share them.
//
// Like the cluster, it never outlives the process that started it: it runs in the foreground as a
// child under `setpriv --pdeathsig SIGKILL` (dropping root to the `postgres` user as the cluster
// does), and its config, auth file and log live in a directory under the cluster's root, which
// the cluster's janitor removes (a spec, which gets the cluster through the environment, finds
// the root as the parent of PGRP_TEST_SOCKET_DIR).
import { spawn, execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { findBinDir, freePort, SUPERUSER, PASSWORD } from './cluster.mjs'

const START_TIMEOUT_MS = 15000
const STOP_TIMEOUT_MS = 5000

/**
 * The pgbouncer binary: on PATH, else Debian's /usr/sbin/pgbouncer (not on an ordinary user's PATH).
 */
export function findPgBouncer({ path = process.env.PATH ?? '' } = {}) {
  const candidates = [...path.split(':').filter(Boolean).map((dir) => join(dir, 'pgbouncer')), '/usr/sbin/pgbouncer']
  const found = candidates.find((file) => existsSync(file))
  if (found) return found
  throw new Error('pgbouncer not found on PATH nor at /usr/sbin/pgbouncer: install it ' +
    '(Debian/Ubuntu: apt-get install pgbouncer)')
}

/** setpriv arguments that drop root to the `postgres` user; none for an ordinary user. */
function dropRootArgs() {
  if (process.getuid?.() !== 0) return []
  const id = (flag) => execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8', stdio: 'pipe' }).trim()
  return ['--reuid', id('-u'), '--regid', id('-g'), '--clear-groups']
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function ready(pgIsReady, port) {
  return new Promise((resolve) => {
    execFile(pgIsReady, ['-h', '127.0.0.1', '-p', String(port), '-q'], (error) => resolve(!error))
  })
}

/**
 * Starts pgbouncer in front of the harness cluster listening on 127.0.0.1:`port`, its files in a
 * new directory under `root` (the cluster's). `poolMode` is PgBouncer's `pool_mode`, `poolSize`
 * its `default_pool_size` (server connections per database and user), `settings` more
 * `[pgbouncer]` lines. Returns { host, port, url, env, dir, pid, log(), stop() }: `url` and `env`
 * connect as the cluster's superuser through pgbouncer.
 */
export async function startPgBouncer({ port: serverPort, root }, { poolMode = 'transaction', poolSize = 4, settings = {} } = {}) {
  const binary = findPgBouncer()
  if (spawnSync('setpriv', ['--version']).error) throw new Error('setpriv not found: install util-linux')
  const dropRoot = dropRootArgs()
  const dir = mkdtempSync(join(root, 'pgbouncer-'))
  const port = await freePort()
  const config = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    // TCP only: no socket file to clean up.
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: join(dir, 'userlist.txt'),
    pool_mode: poolMode,
    default_pool_size: poolSize,
    max_client_conn: 1000,
    logfile: join(dir, 'pgbouncer.log'),
    // Nothing PgBouncer 1.18 rejects by default is ignored: a client that sends it fails, as it
    // would against an installation left at its defaults.
    ignore_startup_parameters: '',
    ...settings,
  }
  const ini = [
    '[databases]',
    `* = host=127.0.0.1 port=${serverPort}`,
    '[pgbouncer]',
    ...Object.entries(config).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n')
  writeFileSync(join(dir, 'pgbouncer.ini'), ini)
  // A plain-text password lets pgbouncer answer SCRAM itself and log in to the server with SCRAM.
  writeFileSync(join(dir, 'userlist.txt'), `"${SUPERUSER}" "${PASSWORD}"\n`, { mode: 0o600 })
  if (dropRoot.length) execFileSync('chown', ['-R', `${SUPERUSER}:${SUPERUSER}`, dir])

  let stderr = ''
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', ...dropRoot, '--', binary, join(dir, 'pgbouncer.ini')],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000) })
  let exited = null
  let spawnError = null
  child.once('error', (e) => { spawnError = e })
  child.once('exit', (code, signal) => { exited = signal ?? `code ${code}` })
  child.unref()
  child.stderr.unref?.()

  const log = () => {
    let text = stderr
    try { text += readFileSync(config.logfile, 'utf8').slice(-20000) } catch {}
    return text
  }
  const bouncer = {
    host: '127.0.0.1', port, dir,
    get pid() { return child.pid },
    url: `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: SUPERUSER, PGPASSWORD: PASSWORD, PGDATABASE: 'postgres' },
    log,
    /** Stops pgbouncer (immediate shutdown) and waits for it to exit. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || exited) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await gone
      clearTimeout(timer)
    },
  }
  const shown = () => log().trim().replace(/^/gm, '  ') || '  (pgbouncer wrote nothing)'
  const pgIsReady = join(findBinDir(), 'pg_isready')
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`could not run setpriv: ${spawnError.message}`)
    if (exited) throw new Error(`pgbouncer exited during startup (${exited}); its log:\n${shown()}`)
    if (await ready(pgIsReady, port)) return bouncer
    await sleep(50)
  }
  await bouncer.stop()
  throw new Error(`pgbouncer did not accept connections within ${START_TIMEOUT_MS / 1000} s; its log:\n${shown()}`)
}
