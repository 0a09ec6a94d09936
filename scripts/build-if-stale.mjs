// Builds the addon from source (`npm run build`) when no `pg-rust-pool.*.node` sits at the
// repository root or when a Rust source is newer than it. `npm test` and `npm run bench` call this,
// so a clone needs only `npm ci && npm test`, and nothing builds when `npm install` runs: users who
// install the package never compile, and a second run with nothing changed rebuilds nothing.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Newest modification time (ms) of the files cargo compiles the addon from. */
function newestSource() {
  let newest = 0
  const visit = (path) => {
    const stat = statSync(path)
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry))
    else newest = Math.max(newest, stat.mtimeMs)
  }
  for (const entry of ['src', 'Cargo.toml', 'Cargo.lock', 'build.rs', '.cargo']) {
    if (existsSync(join(root, entry))) visit(join(root, entry))
  }
  return newest
}

/** Why the addon must be built, or null when the one at the root is current. */
export function staleReason() {
  const built = readdirSync(root).filter((f) => /^pg-rust-pool\..+\.node$/.test(f))
  if (built.length === 0) return 'no native addon is built'
  const oldest = Math.min(...built.map((f) => statSync(join(root, f)).mtimeMs))
  return newestSource() > oldest ? 'a Rust source changed since the last build' : null
}

export function buildIfStale() {
  const reason = staleReason()
  if (!reason) return
  console.error(`${reason}: npm run build`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error('The build from source failed; it needs Rust (cargo) on PATH.')
    process.exit(result.status ?? 1)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildIfStale()
