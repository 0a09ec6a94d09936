// `npm run package [-- platform...]`: builds the release binary of each platform this machine can
// build (or of the platforms named), puts it into its package under npm/<platform>/, and packs
// those packages and the root package into dist/. The root package is packed from a copy of its
// published files whose package.json gains `optionalDependencies` on every platform package at
// the root's version (as napi's pre-publish step does): the repository's own package.json has none,
// so that `npm ci` in a clone does not depend on packages that are published only at release.
//
// Linux binaries are built with cargo-zigbuild (zig as the linker): the glibc ones against glibc
// 2.17, so they load on every distribution since RHEL 7 / Ubuntu 14.04; the musl ones for Alpine.
// macOS and Windows binaries need their SDKs and are built on a machine of their own:
// `npx napi build --platform --release --target <triple> --output-dir npm/<platform>`.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const { version } = manifest
const binary = manifest.napi.binaryName

// Every published platform: its package directory under npm/, its Rust target, and how it is built.
export const PLATFORMS = {
  'linux-x64-gnu': { triple: 'x86_64-unknown-linux-gnu', zig: 'x86_64-unknown-linux-gnu.2.17' },
  'linux-arm64-gnu': { triple: 'aarch64-unknown-linux-gnu', zig: 'aarch64-unknown-linux-gnu.2.17' },
  'linux-x64-musl': { triple: 'x86_64-unknown-linux-musl', zig: 'x86_64-unknown-linux-musl' },
  'linux-arm64-musl': { triple: 'aarch64-unknown-linux-musl', zig: 'aarch64-unknown-linux-musl' },
  'darwin-x64': { triple: 'x86_64-apple-darwin', host: 'darwin' },
  'darwin-arm64': { triple: 'aarch64-apple-darwin', host: 'darwin' },
  'win32-x64-msvc': { triple: 'x86_64-pc-windows-msvc', host: 'win32' },
}

function run(command, args, options = {}) {
  console.error(`$ ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`)
}

/** PATH with cargo-zigbuild and zig on it, installing them (scripts/install-zig.sh) if missing. */
function zigPath() {
  const onPath = spawnSync('cargo-zigbuild', ['--version'], { stdio: 'ignore' }).status === 0
  if (onPath) return process.env.PATH
  const bin = execFileSync('bash', [join(root, 'scripts/install-zig.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
  return `${bin}:${process.env.PATH}`
}

function ensureRustTarget(triple) {
  // The host's own standard library is always there, with or without rustup.
  const host = /^host: (.+)$/m.exec(execFileSync('rustc', ['-vV'], { encoding: 'utf8' }))[1]
  if (triple === host) return
  const installed = execFileSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' }).split('\n')
  if (!installed.includes(triple)) run('rustup', ['target', 'add', triple])
}

/** Builds one platform's binary into npm/<platform>/; returns false when this host cannot. */
function build(platform) {
  const { triple, zig, host } = PLATFORMS[platform]
  const out = join(root, 'npm', platform, `${binary}.${platform}.node`)
  if (zig) {
    if (process.platform !== 'linux') return false
    ensureRustTarget(triple)
    run('cargo', ['zigbuild', '--release', '--lib', '--target', zig], { env: { ...process.env, PATH: zigPath() } })
    copyFileSync(join(root, 'target', triple, 'release', 'libpg_rust_pool.so'), out)
  } else {
    if (process.platform !== host) return false
    ensureRustTarget(triple)
    run(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['napi', 'build', '--platform', '--release', '--no-js', '--target', triple, '--output-dir', join('npm', platform)])
  }
  return true
}

/** Packs `dir` into dist/ and returns the tarball's path. */
function pack(dir) {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dist], { cwd: dir, encoding: 'utf8' }))
  return join(dist, info.filename)
}

/** The root package as published: its `files`, plus optionalDependencies on every platform. */
function packRoot() {
  const [listing] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' }))
  const stage = join(dist, 'stage', manifest.name)
  rmSync(stage, { recursive: true, force: true })
  for (const { path } of listing.files) {
    mkdirSync(dirname(join(stage, path)), { recursive: true })
    cpSync(join(root, path), join(stage, path))
  }
  const published = { ...manifest }
  delete published.scripts
  delete published.devDependencies
  delete published.overrides
  published.optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).map((p) => [`${manifest.name}-${p}`, version]))
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`)
  return pack(stage)
}

function main() {
  const asked = process.argv.slice(2)
  for (const p of asked) if (!PLATFORMS[p]) throw new Error(`unknown platform ${p}: one of ${Object.keys(PLATFORMS).join(', ')}`)
  for (const p of Object.keys(PLATFORMS)) {
    const v = JSON.parse(readFileSync(join(root, 'npm', p, 'package.json'), 'utf8')).version
    if (v !== version) throw new Error(`npm/${p}/package.json is at ${v}, the root at ${version}: run \`npx napi version\``)
  }
  rmSync(dist, { recursive: true, force: true })
  mkdirSync(dist, { recursive: true })
  const packed = []
  for (const platform of asked.length ? asked : Object.keys(PLATFORMS)) {
    if (!build(platform)) {
      if (asked.length) throw new Error(`${platform} cannot be built on ${process.platform}: build it on a ${PLATFORMS[platform].host} machine`)
      console.error(`skipped ${platform}: it is built on a ${PLATFORMS[platform].host} machine`)
      continue
    }
    packed.push(pack(join(root, 'npm', platform)))
  }
  packed.unshift(packRoot())
  for (const file of packed) console.log(`${file}\t${(statSync(file).size / 1024).toFixed(1)} kB`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main()
