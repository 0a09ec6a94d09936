'use strict'
// The one place that loads the compiled engine. It tries, in order:
//   1. `pg-rust-pool.<platform>.node` at the package root: a build from source (`npm run build`);
//   2. the platform package `pg-rust-pool-<platform>` that npm installed as an optional dependency;
// and otherwise throws an Error that names this platform and says how to build from source.
// Hand-written rather than napi's generated loader: it knows only the targets we publish
// (package.json `napi.targets`), and its error says what to do.
const { readFileSync } = require('node:fs')
const { join } = require('node:path')

/** glibc or musl, as npm decides for the `libc` field of a platform package. */
function linuxLibc() {
  try {
    // Cheapest first: musl's ldd names musl, glibc's is a script of the GNU C Library.
    const ldd = readFileSync('/usr/bin/ldd', 'utf8')
    if (ldd.includes('musl')) return 'musl'
    if (ldd.includes('GNU C Library')) return 'gnu'
  } catch {}
  // No ldd (a slim container): ask Node which glibc it runs on, if any.
  const header = process.report && typeof process.report.getReport === 'function' ? process.report.getReport().header : {}
  return header.glibcVersionRuntime ? 'gnu' : 'musl'
}

/** The suffix napi-rs gives this platform's binary and package, e.g. `linux-x64-gnu`. */
function platformKey() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${linuxLibc()}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function load() {
  const key = platformKey()
  const local = join(__dirname, '..', `pg-rust-pool.${key}.node`)
  const pkg = `pg-rust-pool-${key}`
  const failures = []
  for (const candidate of [local, pkg]) {
    try {
      return require(candidate)
    } catch (e) {
      // A missing file is expected for one of the two; anything else (a binary that needs a newer
      // glibc, a wrong architecture) is the reason the user needs to see.
      if (e.code !== 'MODULE_NOT_FOUND') failures.push(`${candidate}: ${e.message}`)
    }
  }
  const libc = process.platform === 'linux' ? ` with ${key.endsWith('musl') ? 'musl' : 'glibc'}` : ''
  const error = new Error(
    `pg-rust-pool has no native engine for ${process.platform} ${process.arch}${libc} (${key}). ` +
      (failures.length
        ? `Loading it failed:\n  ${failures.join('\n  ')}\n`
        : `npm installed no package ${pkg}: this platform has no prebuilt binary, or optional dependencies were omitted (--omit=optional, --no-optional). `) +
      'To build it from source (needs Rust, https://rustup.rs): clone the repository, run `npm ci && npm run build`, ' +
      `and copy pg-rust-pool.${key}.node next to this package's package.json.`,
  )
  error.code = 'NATIVE_BINDING_NOT_FOUND'
  throw error
}

module.exports = load()
