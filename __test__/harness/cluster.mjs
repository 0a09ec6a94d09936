// Throwaway PostgreSQL clusters on loopback for tests, the demo and the benchmark.
//
// Nothing a cluster leaves behind outlives the process that started it, even when that process
// crashes (SIGKILL, an uncaught exception, process.exit without stop()):
// - the server runs in the foreground as a child of this process under
//   `setpriv --pdeathsig SIGKILL`, so the kernel kills it when this process dies, and its
//   backends exit on postmaster death; as root, setpriv also drops to the `postgres` user
//   (PostgreSQL refuses to run as root);
// - a janitor (a few lines of sh) holds a pipe from this process; when the pipe closes, at stop()
//   or at this process's death, it waits for the server to go, then removes the cluster's
//   directory and the System V interlock segment that a killed postmaster leaves behind.
//   Dynamic shared memory lives in the data directory (`dynamic_shared_memory_type=mmap`)
//   rather than in /dev/shm, so removing the directory removes it too.
// Both run in a session of their own, so a Ctrl-C in a terminal reaches only this process,
// which can then close its pools before it stops the server.
import { spawn, spawnSync, execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const SUPERUSER = 'postgres'
export const PASSWORD = 'harness-secret-pw'

const BINARIES = ['initdb', 'postgres', 'pg_isready']
const START_TIMEOUT_MS = 30000
const STOP_TIMEOUT_MS = 10000
const PORT_ATTEMPTS = 3 // another process can take the free port before the server binds it

/**
 * The directory holding initdb, postgres and pg_isready: Debian's newest
 * (`/usr/lib/postgresql/<version>/bin`), then `pg_config --bindir`, then PATH.
 */
export function findBinDir({ debianRoot = '/usr/lib/postgresql', path = process.env.PATH ?? '' } = {}) {
  const candidates = []
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).filter((v) => /^\d+(\.\d+)?$/.test(v))
    versions.sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => join(debianRoot, v, 'bin')))
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', env: { ...process.env, PATH: path } })
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim())
  candidates.push(...path.split(':').filter(Boolean))
  const found = candidates.find((dir) => BINARIES.every((b) => existsSync(join(dir, b))))
  if (found) return found
  throw new Error(`PostgreSQL server binaries not found: looked for ${BINARIES.join(', ')} in ` +
    `${debianRoot}/<version>/bin, in \`pg_config --bindir\` and on PATH. Install the PostgreSQL ` +
    'server (Debian/Ubuntu: apt-get install postgresql) or put its bin directory on PATH.')
}

/** setpriv arguments that drop root to the `postgres` user; none for an ordinary user. */
function dropRootArgs() {
  if (process.getuid?.() !== 0) return []
  let uid, gid
  try {
    uid = execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8', stdio: 'pipe' }).trim()
    gid = execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8', stdio: 'pipe' }).trim()
  } catch {
    throw new Error(`running as root, and there is no \`${SUPERUSER}\` user to run PostgreSQL as ` +
      `(it refuses to run as root): create one (useradd --system --user-group ${SUPERUSER}) or run as an ordinary user`)
  }
  return ['--reuid', uid, '--regid', gid, '--clear-groups']
}

function requireSetpriv() {
  if (spawnSync('setpriv', ['--version']).error) {
    throw new Error('setpriv not found: the harness runs PostgreSQL under it so that the server dies with ' +
      'this process; install util-linux (Debian/Ubuntu: apt-get install util-linux)')
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Runs a command to completion: { ok, output } with stdout and stderr together. */
function run(command, args, env) {
  return new Promise((resolve) => {
    const options = env ? { env: { ...process.env, ...env } } : {}
    execFile(command, args, options, (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}` || String(error?.message ?? '') }))
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** An Error whose message ends with the server's log, indented. */
function startError(message, log) {
  const shown = log.trim() ? log.trim().replace(/^/gm, '  ') : '  (the server wrote nothing)'
  return Object.assign(new Error(`${message}; the server's log:\n${shown}`), { log })
}

// $1 is the cluster's root directory. Exits when its stdin closes (stop(), or the death of the
// process that started the cluster), after the postmaster is gone and its files are removed.
// A zombie counts as gone (init may take seconds to reap it); the waits are bounded.
const JANITOR = `
running() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z ' "/proc/$1/stat" 2>/dev/null; }
cat >/dev/null
pidfile="$1/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(sed -n 1p "$pidfile")
  shmid=$(sed -n 7p "$pidfile" | awk '{ print $2 }')
  n=0
  while [ -n "$pid" ] && running "$pid" && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  if [ -n "$shmid" ]; then ipcrm -m "$shmid" 2>/dev/null; fi
fi
n=0
while [ -e "$1" ] && [ $n -lt 50 ]; do rm -rf "$1" 2>/dev/null || sleep 0.1; n=$((n + 1)); done
`

function startJanitor(root) {
  const janitor = spawn('sh', ['-c', JANITOR, 'pgrp-janitor', root], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
  janitor.on('error', () => {}) // without sh there is no janitor; stop() still removes the files
  janitor.stdin.on('error', () => {})
  janitor.unref()
  janitor.stdin.unref()
  return janitor
}

/**
 * Starts a new cluster. Returns { host, port, socketDir, root, data, user, password, database,
 * url, env, pid, log(), start(), stopServer(), restart(), stop() }. `files` maps names in the data
 * directory to their text (e.g. { 'pg_hba.conf': … }); they replace what initdb wrote.
 */
export function startCluster({ settings = {}, files = {} } = {}) {
  return launch(settings, async ({ bin, dropRoot, root, data }) => {
    const pwfile = join(root, 'pw')
    writeFileSync(pwfile, PASSWORD + '\n')
    if (dropRoot.length) execFileSync('chown', ['-R', `${SUPERUSER}:${SUPERUSER}`, root])
    const initdb = await run('setpriv', [...dropRoot, '--', join(bin, 'initdb'), '-D', data, '-U', SUPERUSER,
      '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'])
    if (!initdb.ok) throw new Error(`initdb failed:\n${initdb.output.trim().replace(/^/gm, '  ')}`)
    // After initdb, which refuses a non-empty directory; owned by the server's user, which reads them.
    for (const [name, text] of Object.entries(files)) {
      const path = join(data, name)
      writeFileSync(path, text, { mode: 0o600 })
      if (dropRoot.length) execFileSync('chown', [`${SUPERUSER}:${SUPERUSER}`, path])
    }
  })
}

/**
 * Starts a streaming replica of `primary` (a cluster from startCluster, whose default pg_hba.conf
 * lets the superuser replicate over 127.0.0.1 and whose wal_level is `replica`, PostgreSQL's
 * default): `pg_basebackup -R` copies it and writes standby.signal and primary_conninfo, then the
 * copy starts as a cluster of its own, read-only, in recovery. Same shape as startCluster's.
 * `--checkpoint=fast`: the backup starts from a checkpoint, which pg_basebackup otherwise waits
 * for at checkpoint_completion_target's pace (5 s after a CREATE TABLE here).
 */
export function startReplica(primary, { settings = {} } = {}) {
  return launch(settings, async ({ bin, dropRoot, root, data }) => {
    if (dropRoot.length) execFileSync('chown', ['-R', `${SUPERUSER}:${SUPERUSER}`, root])
    const backup = await run('setpriv', [...dropRoot, '--', join(bin, 'pg_basebackup'), '-h', '127.0.0.1',
      '-p', String(primary.port), '-U', SUPERUSER, '-D', data, '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast'], { PGPASSWORD: PASSWORD })
    if (!backup.ok) throw new Error(`pg_basebackup failed:\n${backup.output.trim().replace(/^/gm, '  ')}`)
  })
}

/** Makes a cluster directory, fills its data directory with `prepare`, and starts the server. */
async function launch(settings, prepare) {
  const bin = findBinDir()
  requireSetpriv()
  const dropRoot = dropRootArgs()
  const root = mkdtempSync(join(tmpdir(), 'pgrp-'))
  const janitor = startJanitor(root)
  const data = join(root, 'data')
  const socketDir = join(root, 'sock')
  let child = null
  let log = ''

  const cluster = {
    host: '127.0.0.1', port: 0, socketDir, root, data, bin,
    user: SUPERUSER, password: PASSWORD, database: 'postgres',
    get url() { return `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${cluster.port}/postgres` },
    get env() {
      return { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: SUPERUSER, PGPASSWORD: PASSWORD, PGDATABASE: 'postgres' }
    },
    /** The postmaster's pid (setpriv execs it, so it is our child's pid). */
    get pid() { return child?.pid },
    get process() { return child },
    /** The last 20 kB the server wrote to stderr (warnings and errors). */
    log: () => log,

    /** Starts the server on `port` and waits until it accepts connections. */
    async start() {
      const args = ['-D', data, '-p', String(cluster.port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'dynamic_shared_memory_type=mmap', '-c', 'max_connections=300', '-c', 'log_min_messages=warning']
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`)
      log = ''
      child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', ...dropRoot, '--', join(bin, 'postgres'), ...args],
        { detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
      let exited = null
      let spawnError = null
      child.stderr.on('data', (d) => { log = (log + d).slice(-20000) })
      child.once('error', (e) => { spawnError = e })
      child.once('close', (code, signal) => { exited = signal ?? `code ${code}` }) // after stderr ends
      const deadline = Date.now() + START_TIMEOUT_MS
      while (Date.now() < deadline) {
        if (spawnError) throw new Error(`could not run setpriv: ${spawnError.message}`)
        if (exited) throw startError(`postgres exited during startup (${exited})`, log)
        if ((await run(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(cluster.port), '-q'])).ok) return cluster
        await sleep(100)
      }
      child.kill('SIGKILL')
      throw startError(`postgres did not accept connections within ${START_TIMEOUT_MS / 1000} s`, log)
    },

    /** Stops the server (fast shutdown) and waits for it to exit. */
    async stopServer() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },

    async restart() {
      await cluster.stopServer()
      return cluster.start()
    },

    /** Stops the server and removes its files. */
    async stop() {
      await cluster.stopServer()
      rmSync(root, { recursive: true, force: true })
      janitor.stdin.end()
    },
  }

  try {
    mkdirSync(socketDir)
    await prepare({ bin, dropRoot, root, data })
    for (let attempt = 1; ; attempt++) {
      cluster.port = await freePort()
      try {
        return await cluster.start()
      } catch (e) {
        if (attempt === PORT_ATTEMPTS || !/Address already in use/.test(e.log ?? '')) throw e
      }
    }
  } catch (e) {
    await cluster.stop()
    throw e
  }
}
