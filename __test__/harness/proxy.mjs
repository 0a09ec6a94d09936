// A TCP fault proxy for the specs (issue 24): node:net on loopback between a client (the pool, or
// pg) and PostgreSQL, that can pass through, delay, black-hole, freeze, reset every connection,
// and refuse new ones.
//
// What each mode reproduces at the TCP level, and what it does not. The proxy is an ordinary
// user-space process: the client's TCP connection ends in this host's kernel, which completes
// handshakes and acknowledges every byte it can buffer, whatever the proxy then does with it.
//
// - pass()       Forwards bytes, FIN (half-close) and resets both ways. Adds one loopback hop.
// - delay(ms)    Forwards each chunk, and FIN, `ms` after it was read, in order per direction:
//                a latency of `ms` each way, so a round trip takes 2 × ms. Connection setup to the
//                server is not delayed, and the client's kernel sees its bytes ACKed at once (the
//                delay is in the application, not the network), so it never retransmits.
// - blackhole()  Reads and discards everything, both ways; FIN and resets are not passed on
//                either. New connections are accepted (the kernel completes the handshake, like a
//                dead server behind a live NAT or load balancer) and no connection to the server
//                is opened for them. A client blocked on a reply hangs until its own timeout, or
//                its keepalive/TCP_USER_TIMEOUT... except that those do NOT fire: this host's
//                kernel ACKs the client's data and keepalive probes. A black hole for the
//                application layer (query and statement timeouts, the pool's own checks), not
//                for the client's TCP stack.
//                At pass(), the bytes discarded meanwhile are gone: a real network would have
//                retransmitted them, so the PostgreSQL protocol on such a connection is out of
//                step (it will hang or fail); end it with reset(). A side that closed meanwhile
//                gets the other side reset at pass(), as a real peer's next segment would.
//                Connections accepted meanwhile get their server connection at pass().
// - freeze()     Stops reading from both sockets of every connection, and from new ones (which
//                are accepted, without a server connection until pass()). This host's kernel
//                then ACKs only what fits in its receive buffer (about 100 kB on a fresh
//                connection with the default net.ipv4.tcp_rmem, plus ~16 kB Node reads ahead);
//                once that window is full the peer's further data stays unsent and the peer
//                probes the zero window, which this kernel answers. Current Linux applies
//                TCP_USER_TIMEOUT to zero-window probing too (seen on 6.18: a 1 s timeout fired
//                after 1.3 s with 40 MB written), so a client's TCP_USER_TIMEOUT fires here only
//                once it has written more than the window; a small query never does, a big COPY
//                or parameter can. Keepalive probes are answered, so keepalive never fires.
//                At pass() nothing is lost: what the kernels buffered is read and forwarded in
//                order, as TCP retransmission delivers it after a partition heals.
// - reset()      Ends every current connection with a TCP RST to the client and to the server
//                (socket.resetAndDestroy: SO_LINGER 0, then close). A one-shot action: the mode
//                stays what it was, and new connections are accepted.
// - refuse()     Closes the listening socket: new connections get ECONNREFUSED (an RST to the
//                SYN, like a host up with nothing listening), existing ones keep their mode.
//                pass() listens again on the same port.
//
// A connection that is truly never acknowledged (a dead host, a dropped route: what
// TCP_USER_TIMEOUT and keepalive exist for) needs the kernel to drop packets, which this proxy,
// needing no privilege, does not do: the harness's `netns.mjs` does, with a network namespace
// whose only link to this host can be cut.
import { createServer, connect } from 'node:net'

/** Marks FIN in a direction's queue, so that it is passed on after the data read before it. */
const END = Symbol('end')

/**
 * Starts a proxy on `listenHost` (a free port) forwarding each connection to `host:port`. Returns
 * { host, port, target, mode, connections, accepted, listening, pass(), delay(ms), blackhole(),
 * freeze(), reset(), refuse(), close() }; pass(), refuse() and close() return promises (they
 * touch the listening socket), the others act at once.
 */
export async function startProxy({ port, host = '127.0.0.1', listenHost = '127.0.0.1' }) {
  if (!Number.isInteger(port) || port <= 0) throw new Error(`startProxy: \`port\` must be the server's port (got ${port})`)
  const target = { host, port }
  const open = new Set() // the connections, until both of their sockets have closed
  let mode = 'pass' // 'pass' | 'delay' | 'blackhole' | 'freeze'
  let delayMs = 0
  let accepted = 0
  let server = null // the listening server; null while refusing and after close()
  let listenPort = 0 // 0 until the first listen picks a free port, then kept for pass() after refuse()
  let closed = false

  const forwarding = () => mode === 'pass' || mode === 'delay'

  function listen() {
    return new Promise((resolve, reject) => {
      // A new server each time: a closed net.Server stays tied to its connections until they end.
      const s = createServer({ allowHalfOpen: true }, onConnection)
      s.once('error', (error) => reject(listenPort
        ? Object.assign(new Error(`proxy: cannot listen again on ${listenHost}:${listenPort} (${error.code}); another process took the port`), { cause: error })
        : error))
      s.listen(listenPort, listenHost, () => {
        s.on('error', () => {}) // accept errors (EMFILE) must not crash the spec process
        listenPort = s.address().port
        server = s
        resolve()
      })
    })
  }

  function onConnection(client) {
    accepted += 1
    if (closed) return client.destroy()
    // gone: one side ended or reset while nothing was forwarded (see apply()).
    const conn = { client, server: null, up: direction(), down: direction(), gone: false }
    open.add(conn)
    watch(conn, client, 'up')
    if (forwarding()) connectUpstream(conn)
    else if (mode === 'freeze') client.pause()
  }

  // One direction's queue: chunks and END, each with the time it may leave.
  function direction() {
    return { queue: [], timer: null, to: null, from: null }
  }

  function connectUpstream(conn) {
    const s = connect({ ...target, allowHalfOpen: true })
    conn.server = s
    conn.up.to = s
    conn.down.from = s
    conn.down.to = conn.client
    conn.up.from = conn.client
    watch(conn, s, 'down')
    // Writes before 'connect' are buffered by net.Socket, so chunks already queued can go now.
    pump(conn.up)
  }

  // `dir` is the direction this socket's data travels in.
  function watch(conn, socket, dir) {
    socket.setNoDelay(true) // the extra hop must not add Nagle/delayed-ACK stalls to small messages
    socket.on('data', (chunk) => send(conn, dir, chunk))
    socket.on('end', () => send(conn, dir, END))
    socket.on('error', () => {
      if (!forwarding() || conn.lost) { conn.gone = true; return } // a black hole does not carry resets either
      // A reset (or any error) on one side: the other side gets a reset, as through a router.
      const other = dir === 'up' ? conn.server : conn.client
      if (other && !other.destroyed) other.resetAndDestroy()
    })
    socket.on('close', () => {
      if (conn.client.destroyed && (!conn.server || conn.server.destroyed)) finish(conn)
    })
  }

  function finish(conn) {
    for (const d of [conn.up, conn.down]) { clearTimeout(d.timer); d.timer = null; d.queue.length = 0 }
    open.delete(conn)
  }

  function send(conn, dir, item) {
    if (mode === 'blackhole' || conn.lost) {
      if (item === END) conn.gone = true // the FIN is lost too; the other side learns at pass()
      return
    }
    const d = conn[dir]
    d.queue.push({ item, due: Date.now() + (mode === 'delay' ? delayMs : 0) })
    pump(d)
  }

  // Sends the head of the queue when it is due; FIFO, so order holds even when `ms` changes.
  function pump(d) {
    if (d.timer || !d.to || mode === 'freeze' || mode === 'blackhole') return
    while (d.queue.length) {
      const wait = d.queue[0].due - Date.now()
      if (wait > 0) {
        d.timer = setTimeout(() => { d.timer = null; pump(d) }, wait)
        return
      }
      const { item } = d.queue.shift()
      if (d.to.destroyed) continue
      if (item === END) d.to.end()
      else if (!d.to.write(item) && d.from && !d.from.isPaused()) {
        // Backpressure: stop reading until the slow side drains, unless a mode change resumed it.
        d.from.pause()
        d.to.once('drain', () => { if (forwarding()) d.from.resume() })
      }
    }
  }

  // Brings every connection in line with the current mode.
  function apply() {
    for (const conn of open) {
      if (conn.lost) continue // black-holed for good (blackholeOpen)
      const sockets = [conn.client, conn.server].filter(Boolean)
      if (mode === 'freeze') {
        for (const s of sockets) s.pause()
        continue
      }
      if (mode === 'blackhole') {
        for (const d of [conn.up, conn.down]) { clearTimeout(d.timer); d.timer = null; d.queue.length = 0 } // in flight: lost
        for (const s of sockets) s.resume() // read, so that it can be discarded
        continue
      }
      if (conn.gone) {
        // One side ended or reset while nothing passed: the other learns it now, by a reset.
        for (const s of sockets) if (!s.destroyed) s.resetAndDestroy()
        continue
      }
      if (!conn.server) connectUpstream(conn)
      for (const s of [conn.client, conn.server]) s.resume()
      pump(conn.up)
      pump(conn.down)
    }
  }

  function setMode(next, ms = 0) {
    if (closed) throw new Error('proxy: closed')
    mode = next
    delayMs = ms
    apply()
  }

  await listen()

  return {
    /** Where clients connect: the proxy's own address and port (kept across refuse()/pass()). */
    host: listenHost,
    get port() { return listenPort },
    /** The server the proxy forwards to: { host, port }. */
    target,
    /** 'pass', 'delay', 'blackhole' or 'freeze'. */
    get mode() { return mode },
    /** Connections currently open (a connection counts until both of its sockets have closed). */
    get connections() { return open.size },
    /** Connections accepted since the start. */
    get accepted() { return accepted },
    /** False while refusing and after close(). */
    get listening() { return server !== null },

    /** Normal forwarding, for existing and new connections; listens again after refuse(). */
    async pass() {
      await setMode('pass')
      if (!server) await listen()
    },
    /** Forwards each chunk in each direction `ms` after it was read, in order. */
    delay(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`proxy.delay: \`ms\` must be a number ≥ 0 (got ${ms})`)
      setMode('delay', ms)
    },
    /** Reads and discards everything, both ways; new connections are accepted and go nowhere. */
    blackhole() { setMode('blackhole') },
    /**
     * Black-holes the connections open now, for good (until reset()): their data goes nowhere,
     * both ways, as through a NAT or firewall that dropped their mappings; new connections go on
     * as the mode says. Like blackhole(), a black hole for the application, not for TCP.
     */
    blackholeOpen() {
      for (const conn of open) {
        conn.lost = true
        for (const d of [conn.up, conn.down]) { clearTimeout(d.timer); d.timer = null; d.queue.length = 0 }
        for (const s of [conn.client, conn.server]) s?.resume() // read, so that it can be discarded
      }
    },
    /** Stops reading from every socket, so that the kernels' buffers fill; pass() delivers them. */
    freeze() { setMode('freeze') },
    /** Ends every current connection with an RST to both ends; the mode stays as it was. */
    reset() {
      for (const conn of open) {
        for (const s of [conn.client, conn.server]) if (s && !s.destroyed) s.resetAndDestroy()
      }
    },
    /** Stops accepting: new connections get ECONNREFUSED; existing ones carry on. */
    async refuse() {
      if (closed) throw new Error('proxy: closed')
      // close() releases the port at once (libuv closes the fd synchronously); its callback
      // would wait for the accepted connections to end, so it is not awaited.
      server?.close()
      server = null
    },
    /** Closes the listening socket and every connection; resolves when all are closed. */
    async close() {
      if (closed) return
      closed = true
      server?.close()
      server = null
      const waits = []
      for (const conn of open) {
        for (const s of [conn.client, conn.server]) {
          if (!s || s.closed) continue
          waits.push(new Promise((resolve) => s.once('close', resolve)))
          s.destroy()
        }
      }
      await Promise.all(waits)
      for (const conn of [...open]) finish(conn) // clears the delay timers
    },
  }
}
