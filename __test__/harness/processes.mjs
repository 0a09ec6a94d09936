// Watching child processes from specs: wait for a line a child prints, and check through /proc
// that a server and its backends are gone.
import { readFileSync, readdirSync } from 'node:fs'

/** Resolves with the match of the first line of `stream` that matches `pattern`. */
export function waitForLine(stream, pattern, { timeoutMs = 30000, what = String(pattern) } = {}) {
  return new Promise((resolve, reject) => {
    let buffered = ''
    let seen = ''
    const timer = setTimeout(() => finish(new Error(`no line matching ${what} within ${timeoutMs} ms; output:\n${seen}`)), timeoutMs)
    const onData = (chunk) => {
      buffered += chunk
      seen = (seen + chunk).slice(-4000)
      let newline
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const match = buffered.slice(0, newline).match(pattern)
        buffered = buffered.slice(newline + 1)
        if (match) return finish(null, match)
      }
    }
    const onEnd = () => finish(new Error(`the stream ended before a line matching ${what}; output:\n${seen}`))
    function finish(error, match) {
      clearTimeout(timer)
      stream.off('data', onData)
      stream.off('end', onEnd)
      if (error) reject(error)
      else resolve(match)
    }
    stream.setEncoding('utf8')
    stream.on('data', onData)
    stream.on('end', onEnd)
  })
}

/** State and parent of a process from /proc/<pid>/stat, or null when it does not exist. */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { state, ppid: Number(ppid) }
  } catch {
    return null
  }
}

/** Whether `pid` is a live process; a zombie waiting for init to reap it is not. */
export function isRunning(pid) {
  const s = stat(pid)
  return s !== null && s.state !== 'Z' && s.state !== 'X'
}

/** `pid` and its direct children: for a postmaster, its backends and auxiliary processes. */
export function withChildren(pid) {
  const children = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => stat(p)?.ppid === pid)
  return [pid, ...children]
}

/** Waits until none of `pids` runs; resolves with those still running after `timeoutMs`. */
export async function waitUntilGone(pids, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const running = pids.filter(isRunning)
    if (running.length === 0 || Date.now() > deadline) return running
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
