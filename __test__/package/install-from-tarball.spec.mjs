// Issue 21: `npm install pg-rust-pool` works on a machine with no Rust. The root and linux-x64-gnu
// tarballs that `npm run package` writes to dist/ are installed into an empty app, with a PATH
// that has no cargo or rustc and a fresh npm cache, and a script there runs a query against a
// throwaway server. The tarballs carry what the loader needs and no build output.
// Run by `npm run test:package`, which packs them first.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCluster } from '../harness/cluster.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const ROOT_TGZ = join(root, 'dist', `${manifest.name}-${manifest.version}.tgz`)
const GNU_TGZ = join(root, 'dist', `${manifest.name}-linux-x64-gnu-${manifest.version}.tgz`)
const PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc']

/** The paths inside a tarball, without npm's `package/` prefix. */
function entries(tgz) {
  return execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
}

/** A file of a tarball, read without unpacking the rest. */
function read(tgz, path) {
  return execFileSync('tar', ['-xzOf', tgz, `package/${path}`], { encoding: 'utf8' })
}

/** PATH without any directory that holds cargo or rustc. */
function pathWithoutRust() {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !['cargo', 'rustc', 'rustup'].some((tool) => existsSync(join(dir, tool))))
    .join(delimiter)
}

let cluster
let app
let env
before(async () => {
  for (const tgz of [ROOT_TGZ, GNU_TGZ]) assert.ok(existsSync(tgz), `${tgz} is missing: run \`npm run package -- linux-x64-gnu\` first`)
  cluster = await startCluster()
  app = mkdtempSync(join(tmpdir(), 'pgrp-app-'))
  env = {
    ...process.env,
    PATH: pathWithoutRust(),
    npm_config_cache: join(app, '.npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    CARGO_HOME: join(app, 'no-cargo'),
    RUSTUP_HOME: join(app, 'no-rustup'),
  }
})
after(async () => {
  await cluster?.stop()
  if (app) rmSync(app, { recursive: true, force: true })
})

test('the root tarball holds the facade, its loader and every file they require, and no build output', () => {
  const files = entries(ROOT_TGZ)
  const shipped = new Set(files)
  for (const path of files) {
    assert.doesNotMatch(path, /^(target|src|npm|scripts|__test__|\.cargo|\.ci)\//, `${path} is build or test material`)
    assert.doesNotMatch(path, /\.node$|^Cargo\.|^build\.rs$|^native\.d\.ts$|\.tgz$/, `${path} is build output`)
  }
  for (const path of ['package.json', 'index.js', 'index.d.ts', 'lib/native.js', 'README.md', 'CHANGELOG.md']) {
    assert.ok(shipped.has(path), `${path} is shipped`)
  }
  // Every relative require of a shipped script resolves to a shipped file.
  for (const path of files.filter((f) => f.endsWith('.js'))) {
    for (const [, spec] of read(ROOT_TGZ, path).matchAll(/require\(['"](\.{1,2}\/[^'"]+)['"]\)/g)) {
      const target = posix.join(posix.dirname(path), spec)
      const found = [target, `${target}.js`, `${target}/index.js`].some((candidate) => shipped.has(candidate))
      assert.ok(found, `${path} requires ${spec}, which is not shipped`)
    }
  }
  const size = statSync(ROOT_TGZ).size
  assert.ok(size < 100 * 1024, `the root tarball is ${size} bytes, over 100 kB`)
})

test('the root package.json depends on every platform package at its own version and runs no install script', () => {
  const published = JSON.parse(read(ROOT_TGZ, 'package.json'))
  assert.deepEqual(
    published.optionalDependencies,
    Object.fromEntries(PLATFORMS.map((p) => [`${manifest.name}-${p}`, manifest.version])),
  )
  assert.equal(published.scripts, undefined, 'no lifecycle script runs on a user machine')
  assert.equal(published.devDependencies, undefined)
})

test('the linux-x64-gnu tarball holds the binary and a manifest that npm installs on glibc x64 only', () => {
  assert.deepEqual(entries(GNU_TGZ).sort(), ['README.md', 'package.json', `${manifest.name}.linux-x64-gnu.node`])
  const published = JSON.parse(read(GNU_TGZ, 'package.json'))
  assert.equal(published.version, manifest.version)
  assert.deepEqual([published.os, published.cpu, published.libc], [['linux'], ['x64'], ['glibc']])
  const size = statSync(GNU_TGZ).size
  assert.ok(size < 10 * 1024 * 1024, `the linux-x64-gnu tarball is ${size} bytes, over 10 MB`)
})

test('installed from the tarballs on a PATH with no Rust, a script runs a query', () => {
  assert.notEqual(spawnSync('cargo', ['--version'], { env }).status, 0, 'cargo is not reachable from the app')
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  const install = spawnSync('npm', ['install', ROOT_TGZ, GNU_TGZ], { cwd: app, env, encoding: 'utf8' })
  assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`)
  assert.doesNotMatch(install.stderr, /EBADENGINE|gyp|cargo/, install.stderr)
  const installed = readdirSync(join(app, 'node_modules', manifest.name))
  assert.ok(!installed.some((f) => f.endsWith('.node')), 'the binary comes from the platform package, not the root')

  writeFileSync(
    join(app, 'query.js'),
    `const { DatabaseManager } = require('pg-rust-pool')
const db = new DatabaseManager({ connectionString: process.argv[2], max: 2 })
db.query('SELECT $1::int + 1 AS answer, current_setting($2) AS encoding', [41, 'server_encoding'])
  .then((r) => { console.log(JSON.stringify(r.rows)); return db.close() })
  .catch((e) => { console.error(e); process.exitCode = 1 })
`,
  )
  const run = spawnSync(process.execPath, ['query.js', cluster.url], { cwd: app, env, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.deepEqual(JSON.parse(run.stdout), [{ answer: 42, encoding: 'UTF8' }])
})

test('without its platform package, loading throws an error that names the platform and how to build', () => {
  const pkg = join(app, 'node_modules', `${manifest.name}-linux-x64-gnu`)
  assert.ok(existsSync(pkg), 'the previous test installed the platform package')
  renameSync(pkg, `${pkg}.away`)
  try {
    const probe = "try { require('pg-rust-pool') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"
    const run = spawnSync(process.execPath, ['-e', probe], { cwd: app, env, encoding: 'utf8' })
    const { code, message } = JSON.parse(run.stdout)
    assert.equal(code, 'NATIVE_BINDING_NOT_FOUND')
    assert.match(message, /linux x64 with glibc \(linux-x64-gnu\)/)
    assert.match(message, /pg-rust-pool-linux-x64-gnu/)
    assert.match(message, /npm run build/)
  } finally {
    renameSync(`${pkg}.away`, pkg)
  }
})
