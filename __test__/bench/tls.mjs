// The server of the TLS workloads (issue 19): a second throwaway cluster with ssl=on, serving a
// certificate for localhost signed by a CA made for this run, which every client is given to
// verify the server fully (chain and host name).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeCertificates, startTlsCluster } from '../harness/tls.mjs'

/**
 * Makes the certificates and starts the cluster. Returns { url, ca, stop() }: `url` names
 * the host `localhost`, which the server's certificate is for; `ca` is the path of the CA's
 * certificate. The certificates go with stop(), or with this process whichever way it exits
 * (the cluster harness sees to the server itself).
 */
export async function startTlsServer() {
  const dir = mkdtempSync(join(tmpdir(), 'pgrp-bench-certs-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  process.once('exit', removeDir)
  try {
    const certs = await makeCertificates(dir)
    const cluster = await startTlsCluster({ certs })
    return {
      url: `postgres://${cluster.user}:${cluster.password}@localhost:${cluster.port}/${cluster.database}`,
      ca: certs.ca.cert,
      async stop() {
        await cluster.stop()
        removeDir()
      },
    }
  } catch (e) {
    removeDir()
    throw e
  }
}
