// One measurement in a fresh process: child.mjs <client> <workload> with `env` added to this
// process's environment. Resolves to the JSON line it prints last; rejects with its exit and
// stderr if it fails, or is killed after `timeoutMs`.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChild } from './run-child.mjs'

const here = dirname(fileURLToPath(import.meta.url))

export async function measureInChild(client, name, env, timeoutMs) {
  const { code, signal, out, err } = await runChild(process.execPath, [join(here, 'child.mjs'), client, name],
    { env: { ...process.env, ...env }, timeoutMs })
  const line = out.trim().split('\n').pop()
  if (code === 0 && line) return JSON.parse(line)
  throw new Error(`${client} ${name} exited with ${signal ?? `code ${code}`}:\n${err.trim().replace(/^/gm, '  ')}`)
}
