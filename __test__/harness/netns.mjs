// A host on the other side of a cable that can be cut: a network namespace of its own, linked to
// this one by a veth pair, for what only a dropped packet shows (TCP_USER_TIMEOUT, keepalive). A
// process started inside it with run() reaches this host at `hostAddress` (a proxy of
// startProxy({ listenHost: link.hostAddress }) passes that on to the server); cut() takes this
// side of the pair down, so the far side keeps its address and route and every packet it sends
// is dropped without an answer (no RST, no ICMP), as when a server vanishes; heal() puts it back.
//
// Needs root (CAP_NET_ADMIN) and iproute2's `ip`; a spec that needs the link fails without them
// rather than skipping. stop() removes the namespace, which takes the veth pair with it.
import { spawn, execFileSync } from 'node:child_process'

function ip(...args) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    const why = e.code === 'ENOENT' ? 'iproute2\'s `ip` is not installed' : (e.stderr || e.message).trim()
    throw new Error(`netns: ip ${args.join(' ')}: ${why} (the link needs root and iproute2)`)
  }
}

/**
 * Makes the namespace and its link. Returns { ns, hostAddress, farAddress, run(command, args,
 * options), cut(), heal(), stop() }; run() spawns a process inside the namespace.
 */
export function startLink() {
  // Names of at most 15 bytes, and a /30 of their own, from this process's pid.
  const id = process.pid % 100000
  const ns = `pgrp-${id}`
  const here = `pgrpa${id}`
  const far = `pgrpb${id}`
  const subnet = `10.${200 + Math.floor(id / 65536) % 50}.${Math.floor(id / 256) % 256}.${(id % 64) * 4}`
  const base = subnet.split('.').map(Number)
  const hostAddress = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 1}`
  const farAddress = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 2}`
  ip('netns', 'add', ns)
  try {
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', far)
    ip('link', 'set', far, 'netns', ns)
    ip('addr', 'add', `${hostAddress}/30`, 'dev', here)
    ip('link', 'set', here, 'up')
    ip('-n', ns, 'addr', 'add', `${farAddress}/30`, 'dev', far)
    ip('-n', ns, 'link', 'set', far, 'up')
    ip('-n', ns, 'link', 'set', 'lo', 'up')
  } catch (e) {
    ip('netns', 'del', ns)
    throw e
  }
  const children = new Set()
  return {
    ns, hostAddress, farAddress,
    /** Spawns `command args` inside the namespace (child_process.spawn's options). */
    run(command, args = [], options = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], options)
      children.add(child)
      child.once('exit', () => children.delete(child))
      return child
    },
    cut: () => void ip('link', 'set', here, 'down'),
    /**
     * Puts the link back, and has both ends forget what they learnt of each other meanwhile: an
     * address resolution that a connect began during the cut is still under way when the link
     * comes back, and fails the connect with EHOSTUNREACH soon after (seen on a loaded machine).
     */
    heal() {
      ip('link', 'set', here, 'up')
      ip('neigh', 'flush', 'dev', here)
      ip('-n', ns, 'neigh', 'flush', 'dev', far)
    },
    stop() {
      for (const child of children) child.kill('SIGKILL')
      try { ip('link', 'del', here) } catch {}
      ip('netns', 'del', ns)
    },
  }
}
