// Throwaway PostgreSQL clusters on loopback for tests, the demo and the benchmark.
//
// The server runs in the foreground as a child of this process under `setpriv --pdeathsig
// SIGKILL`, so it dies with the process that started it even when that process crashes; as
// root, setpriv also drops to the `postgres` user (PostgreSQL refuses to run as root).
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync, chownSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const SUPERUSER = 'postgres'
export const PASSWORD = 'harness-secret-pw'

/** The directory holding initdb and postgres: Debian's, then pg_config's, then PATH. */
export function findBinDir() {
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
    versions.sort((a, b) => Number(b) - Number(a))
    if (versions.length) return join(debian, versions[0], 'bin')
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' })
  if (pgConfig.status === 0 && existsSync(join(pgConfig.stdout.trim(), 'initdb'))) return pgConfig.stdout.trim()
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' })
  if (which.status === 0) return join(which.stdout.trim(), '..')
  throw new Error('PostgreSQL server binaries not found: install postgresql (Debian: apt-get install postgresql)')
}

const isRoot = process.getuid?.() === 0

function runAs() {
  if (!isRoot) return []
  const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim())
  return ['--reuid', String(uid), '--regid', String(gid), '--clear-groups']
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

function chownTree(dir) {
  if (!isRoot) return
  execFileSync('chown', ['-R', `${SUPERUSER}:${SUPERUSER}`, dir])
}

/**
 * Starts a new cluster. Returns { host, port, socketDir, user, password, database, url, env,
 * stop(), restart() }.
 */
export async function startCluster({ settings = {} } = {}) {
  const bin = findBinDir()
  const root = mkdtempSync(join(tmpdir(), 'pgrp-'))
  const data = join(root, 'data')
  const socketDir = join(root, 'sock')
  execFileSync('mkdir', ['-p', socketDir])
  const pwfile = join(root, 'pw')
  writeFileSync(pwfile, PASSWORD + '\n')
  chownTree(root)
  const initdb = spawnSync('setpriv', [...runAs(), '--', join(bin, 'initdb'), '-D', data, '-U', SUPERUSER,
    '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8',
    '--no-sync'], { encoding: 'utf8' })
  if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.stderr || initdb.stdout}`)
  const port = await freePort()
  const cluster = {
    host: '127.0.0.1', port, socketDir, root, data, bin,
    user: SUPERUSER, password: PASSWORD, database: 'postgres',
    url: `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: SUPERUSER, PGPASSWORD: PASSWORD, PGDATABASE: 'postgres' },
    process: null,
    async start() {
      const args = ['-D', data, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=300', '-c', 'log_min_messages=warning']
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`)
      const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', ...runAs(), '--', join(bin, 'postgres'), ...args],
        { stdio: ['ignore', 'ignore', 'pipe'] })
      let log = ''
      child.stderr.on('data', (d) => { log = (log + d).slice(-20000) })
      cluster.process = child
      cluster.log = () => log
      const deadline = Date.now() + 30000
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`postgres exited at start:\n${log}`)
        const ready = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q'])
        if (ready.status === 0) return cluster
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`postgres did not start within 30 s:\n${log}`)
    },
    /** Stops the server (fast shutdown) and waits for it to exit. */
    async stopServer() {
      const child = cluster.process
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000)
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
    },
  }
  return cluster.start()
}
