// One measurement in a fresh process: child.mjs <client> <workload> with `env` added to this
// process's environment. Resolves to the JSON line it prints last; rejects with its exit and
// stderr if it fails, or is killed after `timeoutMs`.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

export function measureInChild(client, name, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'child.mjs'), client, name], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { err += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').pop()
      if (code === 0 && line) resolve(JSON.parse(line))
      else reject(new Error(`${client} ${name} exited with ${signal ?? `code ${code}`}:\n${err.trim().replace(/^/gm, '  ')}`))
    })
  })
}
