/**
 * Opening byte streams to an engine: plain sockets, TLS, dockerd's HTTP/1.1 upgrades, and child process stdio.
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { Duplex } from 'node:stream'
import tls from 'node:tls'
import type { EngineAddress, TlsOptions } from './address.js'
import { BuildkitError } from './errors.js'

const HINT = 'Start the engine (bash scripts/engine.sh start current), or pick another with --engine / KILN_ENGINE.'

function unavailable(address: string, cause: unknown): BuildkitError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new BuildkitError('BUILDKIT_UNAVAILABLE', `Cannot reach the BuildKit engine at ${address}: ${reason}. ${HINT}`, { address, cause })
}

function connectSocket(options: net.NetConnectOpts, address: string, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options)
    const onAbort = (): void => {
      socket.destroy()
      reject(new BuildkitError('BUILDKIT_CANCELLED', `connecting to ${address} was cancelled`, { address }))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort)
      socket.setNoDelay(true)
      resolve(socket)
    })
    socket.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort)
      reject(unavailable(address, error))
    })
  })
}

async function pem(value: string | Buffer | undefined): Promise<string | Buffer | undefined> {
  if (value === undefined || Buffer.isBuffer(value) || value.includes('-----BEGIN')) return value
  return readFile(value)
}

async function connectTls(host: string, port: number, options: TlsOptions, address: string): Promise<tls.TLSSocket> {
  const [ca, cert, key] = await Promise.all([pem(options.ca), pem(options.cert), pem(options.key)])
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ca,
      cert,
      key,
      servername: options.serverName ?? (net.isIP(host) ? undefined : host),
      ALPNProtocols: ['h2'],
    })
    socket.once('secureConnect', () => resolve(socket))
    socket.once('error', (error) => reject(unavailable(address, error)))
  })
}

/** Connects to the engine's socket (for docker addresses: the Docker API socket, before any upgrade). */
export async function dialRaw(address: EngineAddress, signal?: AbortSignal): Promise<Duplex> {
  switch (address.kind) {
    case 'docker':
      return 'socketPath' in address
        ? connectSocket({ path: address.socketPath }, address.url, signal)
        : connectSocket({ host: address.host, port: address.port }, address.url, signal)
    case 'unix':
      return connectSocket({ path: address.socketPath }, address.url, signal)
    case 'tcp':
      return address.tls ? connectTls(address.host, address.port, address.tls, address.url) : connectSocket({ host: address.host, port: address.port }, address.url, signal)
    case 'docker-container':
      return dialContainer(address.container, address.context, address.url)
  }
}

function dialContainer(container: string, context: string | undefined, address: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const args = [...(context ? [`--context=${context}`] : []), 'exec', '-i', container, 'buildctl', 'dial-stdio']
    const child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000)
    })
    const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin })
    child.once('error', (error) => reject(unavailable(address, error)))
    child.once('exit', (code) => {
      duplex.destroy(new Error(`docker exec exited with code ${String(code)}${stderr ? `: ${stderr.trim()}` : ''}`))
    })
    duplex.once('close', () => {
      if (child.exitCode === null) child.kill()
    })
    // Spawning succeeded: the first failure, if any, shows up as a closed stream on the first call.
    child.once('spawn', () => resolve(duplex))
  })
}

/**
 * Performs a dockerd HTTP/1.1 upgrade to h2c (`POST /grpc` or `POST /session`) and returns the socket ready for
 * HTTP/2. The daemon's first HTTP/2 bytes may arrive in the same read as the end of the 101 headers (wire doc 1.1
 * and hazard 11.2), so whatever follows the header block is put back into the socket for the HTTP/2 layer.
 */
export async function dockerUpgrade(address: EngineAddress, path: string, headers: [string, string][] = [], signal?: AbortSignal): Promise<Duplex> {
  const socket = await dialRaw(address, signal)
  const lines = [`POST ${path} HTTP/1.1`, 'Host: docker', 'Connection: Upgrade', 'Upgrade: h2c', 'Content-Length: 0', ...headers.map(([name, value]) => `${name}: ${value}`)]
  return new Promise<Duplex>((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const fail = (error: BuildkitError): void => {
      cleanup()
      socket.destroy()
      reject(error)
    }
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) {
        if (buffered.length > 64 * 1024) fail(unavailable(address.url, new Error(`no HTTP response to POST ${path}`)))
        return
      }
      const head = buffered.subarray(0, end).toString('latin1')
      const rest = buffered.subarray(end + 4)
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
      if (status !== 101) {
        // Read a little of the body for the daemon's JSON message, then report it.
        const body = rest.toString('utf8')
        let message = body
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body
        } catch {
          // not JSON (or not complete): keep the text
        }
        fail(
          new BuildkitError(
            'BUILDKIT_UNAVAILABLE',
            `The Docker daemon at ${address.url} refused the ${path} upgrade with HTTP ${status}${message ? `: ${message.trim()}` : ''}. Is this a Docker daemon with BuildKit (docker 18.09+)?`,
            { address: address.url },
          ),
        )
        return
      }
      // Stop the flow before handing the socket over, or bytes would be emitted with no listener.
      socket.pause()
      cleanup()
      if (rest.length > 0) socket.unshift(rest)
      resolve(socket)
    }
    const onError = (error: Error): void => fail(unavailable(address.url, error))
    const onClose = (): void => fail(unavailable(address.url, new Error(`the daemon closed the connection during the ${path} upgrade`)))
    const cleanup = (): void => {
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.write(lines.join('\r\n') + '\r\n\r\n')
  })
}

/** A plain HTTP/1.1 GET against the Docker API (for `/version`). */
export async function dockerGet(address: EngineAddress, path: string): Promise<unknown> {
  const socket = await dialRaw(address)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error) => reject(unavailable(address.url, error)))
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      const head = text.slice(0, split)
      let body = text.slice(split + 4)
      if (/transfer-encoding:\s*chunked/i.test(head)) {
        let out = ''
        let rest = body
        for (;;) {
          const lineEnd = rest.indexOf('\r\n')
          const size = parseInt(rest.slice(0, lineEnd), 16)
          if (!size) break
          out += rest.slice(lineEnd + 2, lineEnd + 2 + size)
          rest = rest.slice(lineEnd + 2 + size + 2)
        }
        body = out
      }
      try {
        resolve(JSON.parse(body))
      } catch (error) {
        reject(unavailable(address.url, error))
      }
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`)
  })
}
