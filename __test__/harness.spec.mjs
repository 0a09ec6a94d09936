// The test harness: no server outlives the process that started it, however that process ends;
// it runs as root and as an ordinary user; its failures say what went wrong.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startCluster, findBinDir } from './harness/cluster.mjs'
import { waitForLine, withChildren, waitUntilGone } from './harness/processes.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const clusterModule = pathToFileURL(join(here, 'harness', 'cluster.mjs')).href

// Starts a cluster, prints its postmaster pid and directory, and ends as told once it reads a line.
const owner = (ending) => `
import { startCluster } from ${JSON.stringify(clusterModule)}
const cluster = await startCluster()
console.log(JSON.stringify({ pid: cluster.pid, root: cluster.root }))
process.stdin.once('data', () => { ${ending} })
`

async function crashOwner(ending) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', owner(ending)], { stdio: ['pipe', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const [, json] = await waitForLine(child.stdout, /^(\{.*\})$/, { what: 'the cluster line' })
  const { pid, root } = JSON.parse(json)
  const server = withChildren(pid)
  assert.ok(server.length > 1, 'the postmaster has backends or auxiliary processes to watch')
  child.stdin.write('go\n')
  const ended = await exited
  return { ended, server, root }
}

async function assertCleanedUp({ server, root }) {
  assert.deepEqual(await waitUntilGone(server, 5000), [], 'the server processes are gone within 5 s')
  const deadline = Date.now() + 5000
  while (existsSync(root) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(existsSync(root), false, `the cluster directory ${root} is removed`)
}

test('the server dies with its owner when the owner is killed with SIGKILL', async () => {
  const outcome = await crashOwner("process.kill(process.pid, 'SIGKILL')")
  assert.equal(outcome.ended.signal, 'SIGKILL')
  await assertCleanedUp(outcome)
})

test('the server dies with its owner when the owner throws an uncaught exception', async () => {
  const outcome = await crashOwner("throw new Error('boom')")
  assert.equal(outcome.ended.code, 1)
  await assertCleanedUp(outcome)
})

test('the server dies with its owner when the owner exits without stop()', async () => {
  const outcome = await crashOwner('process.exit(3)')
  assert.equal(outcome.ended.code, 3)
  await assertCleanedUp(outcome)
})

test('stop() stops the server and removes its directory', async () => {
  const cluster = await startCluster()
  const server = withChildren(cluster.pid)
  await cluster.stop()
  assert.deepEqual(await waitUntilGone(server, 1000), [])
  assert.equal(existsSync(cluster.root), false)
})

test('a server that fails to start is reported with its log', async () => {
  await assert.rejects(startCluster({ settings: { shared_buffers: 'lots' } }),
    /postgres exited during startup[^]*server's log:[^]*invalid value for parameter "shared_buffers": "lots"/)
})

test('missing server binaries: the error says where it looked and what to install', () => {
  assert.throws(() => findBinDir({ debianRoot: '/nonexistent', path: '/nonexistent' }),
    /PostgreSQL server binaries not found: looked for initdb, postgres, pg_isready in [^]*apt-get install postgresql/)
})

// As root the harness drops to `postgres`; this runs it as `nobody` to cover the ordinary-user path.
const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--']
const isRoot = process.getuid?.() === 0
const nobodyCanRead = isRoot && spawnSync('setpriv', [...asNobody, 'test', '-r', join(here, 'harness', 'cluster.mjs')]).status === 0
test('an ordinary user can start a cluster, query it and stop it', {
  skip: !isRoot ? 'needs root to switch to nobody' : !nobodyCanRead ? 'nobody cannot read the repository' : false,
}, () => {
  const script = `
import { readFileSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { startCluster } from ${JSON.stringify(clusterModule)}
const { DatabaseManager } = createRequire(${JSON.stringify(join(here, 'x.js'))})('..')
const cluster = await startCluster()
const serverUid = Number(readFileSync('/proc/' + cluster.pid + '/status', 'utf8').match(/^Uid:\\s+(\\d+)/m)[1])
const db = new DatabaseManager({ connectionString: cluster.url })
const { rows } = await db.query('SELECT current_user AS "user"')
await db.close()
await cluster.stop()
console.log(JSON.stringify({ uid: process.getuid(), serverUid, rows, removed: !existsSync(cluster.root) }))
`
  const run = spawnSync('setpriv', [...asNobody, process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/tmp' }, timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout)
  assert.deepEqual(JSON.parse(run.stdout), { uid: nobody, serverUid: nobody, rows: [{ user: 'postgres' }], removed: true })
})
