// Issue 21: the linux-x64-gnu binary loads on glibc 2.17 and later (RHEL 7, Amazon Linux 2,
// Debian 11, Ubuntu 20.04…): no symbol it imports carries a version newer than GLIBC_2.17. The
// other Linux binaries are checked too when `npm run package` built them.
// Run by `npm run test:package`, which builds the binary first.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binary = (platform) => join(root, 'npm', platform, `pg-rust-pool.${platform}.node`)

/** The symbol versions a binary needs, from its .gnu.version_r section (readelf reads any arch). */
function neededVersions(file) {
  const out = execFileSync('readelf', ['--version-info', '--wide', file], { encoding: 'utf8' })
  return [...new Set([...out.matchAll(/Name: (GLIBC_[0-9.]+)/g)].map((m) => m[1]))]
}

const newer = (a, b) => {
  const [x, y] = [a, b].map((v) => v.replace('GLIBC_', '').split('.').map(Number))
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0)
  return false
}

for (const platform of ['linux-x64-gnu', 'linux-arm64-gnu']) {
  const required = platform === 'linux-x64-gnu'
  test(`${platform} needs no glibc symbol newer than GLIBC_2.17`, { skip: !required && !existsSync(binary(platform)) && 'not built here' }, () => {
    assert.ok(existsSync(binary(platform)), `${binary(platform)} is missing: run \`npm run package -- ${platform}\``)
    const versions = neededVersions(binary(platform))
    assert.ok(versions.length > 0, 'readelf found the GLIBC version needs')
    const tooNew = versions.filter((v) => newer(v, 'GLIBC_2.17'))
    assert.deepEqual(tooNew, [], `needs ${tooNew.join(', ')}`)
  })
}

for (const platform of ['linux-x64-musl', 'linux-arm64-musl']) {
  test(`${platform} links musl's libc dynamically and no glibc`, { skip: !existsSync(binary(platform)) && 'not built here' }, () => {
    const dynamic = execFileSync('readelf', ['--dynamic', '--wide', binary(platform)], { encoding: 'utf8' })
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1])
    assert.deepEqual(needed, ['libc.so'], 'musl resolves libc.so to itself')
    assert.deepEqual(neededVersions(binary(platform)), [])
  })
}
