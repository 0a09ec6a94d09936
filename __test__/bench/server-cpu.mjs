// The CPU a PostgreSQL server on this machine has used: its postmaster's own, its reaped
// children's, and every live child's (the backends, WAL writer, checkpointer, …), from /proc.
// The difference of two readings is the server's CPU between them, even when backends exit in
// between (their time moves to the postmaster's reaped children's when it waits for them).
import { readdirSync, readFileSync } from 'node:fs'

const TICK_MICROS = 10000 // USER_HZ is 100 on Linux

/** /proc/<pid>/stat's fields from the state on (field 3 is [0]), or null if it has gone. */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/** Microseconds of CPU (user + system) the server of `postmaster` (its pid) has used so far. */
export function serverCpuMicros(postmaster) {
  const own = stat(postmaster)
  if (!own) throw new Error(`no process ${postmaster}: the server's postmaster must run on this machine`)
  // utime, stime, cutime, cstime: fields 14-17
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const child = stat(entry)
    if (child && Number(child[1]) === postmaster) ticks += Number(child[11]) + Number(child[12])
  }
  return ticks * TICK_MICROS
}
