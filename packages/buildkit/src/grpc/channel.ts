/**
 * A small gRPC client on node:http2.
 *
 * Why not @grpc/grpc-js for the client side: grpc-js cannot adopt an already connected socket (wire doc 1.5), and
 * three of Kiln's transports hand us exactly that: dockerd's `/grpc` HTTP/1.1 upgrade (with bytes after the 101
 * that must be fed to HTTP/2), `docker-container://` (a child process's stdio) and TLS with a custom server name.
 * A local proxy (route 1) would add a socket file, a second hop and a second place for failures to hide. One
 * node:http2 client for every transport (route 2) keeps a single code path: the same cancellation (RST_STREAM
 * CANCEL on abort), the same detection of a dead engine (session close and PING timeouts fail every pending call
 * at once), and back-pressure in both directions. Unary, server-streaming and bidi calls are all we need.
 * The session, where the client is the gRPC server, has its own small server on node:http2 too (server.ts).
 */
import http2 from 'node:http2'
import type { Duplex } from 'node:stream'
import { BuildkitError, GrpcStatus } from '../errors.js'
import { rpc } from '../proto.js'
import { frame, MessageDecoder } from './framing.js'
import { AsyncQueue } from './queue.js'

export type Metadata = Record<string, string | string[]>

export interface CallOptions {
  signal?: AbortSignal | undefined
  metadata?: Metadata | undefined
}

export interface ChannelOptions {
  /** What the error messages call the engine (the address the caller used). */
  address: string
  /** The HTTP/2 `:authority` (the TLS server name when one is given). */
  authority?: string
  /** Interval of HTTP/2 PINGs while calls are in flight; a missing answer fails every call. 0 disables. */
  keepaliveMs?: number
  /** How long a PING may go unanswered before the connection is declared dead. */
  keepaliveTimeoutMs?: number
}

interface Status {
  code: number
  message: string
  details: { typeUrl: string; value: Uint8Array }[]
}

function decodeStatusDetails(value: string | string[] | undefined): Status['details'] {
  if (typeof value !== 'string' || value === '') return []
  try {
    const status = rpc.Status.decode(Buffer.from(value, 'base64'))
    return (status.details ?? []).map((any) => ({ typeUrl: any.typeUrl ?? '', value: any.value ?? new Uint8Array() }))
  } catch {
    return []
  }
}

function readStatus(headers: http2.IncomingHttpHeaders): Status | undefined {
  const raw = headers['grpc-status']
  if (raw === undefined) return undefined
  const code = Number(Array.isArray(raw) ? raw[0] : raw)
  const messageHeader = headers['grpc-message']
  let message = typeof messageHeader === 'string' ? messageHeader : ''
  try {
    message = decodeURIComponent(message)
  } catch {
    // keep the raw text: a daemon that did not percent-encode is still readable
  }
  return { code, message, details: decodeStatusDetails(headers['grpc-status-details-bin']) }
}

/** One gRPC call on an HTTP/2 stream. Messages in are raw protobuf bytes; decoding is the caller's. */
export class Call implements AsyncIterable<Buffer> {
  private readonly decoder = new MessageDecoder()
  private readonly queue = new AsyncQueue<Buffer>()
  private status: Status | undefined
  private failure: BuildkitError | undefined
  private finished = false
  readonly done: Promise<void>
  private resolveDone!: () => void
  private rejectDone!: (error: BuildkitError) => void

  constructor(
    private readonly channel: GrpcChannel,
    readonly method: string,
    readonly stream: http2.ClientHttp2Stream,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve
      this.rejectDone = reject
    })
    // Nobody may be awaiting `done` (a streaming caller reads the iterator instead); the iterator carries the error.
    this.done.catch(() => undefined)
    this.queue.onDrain = () => {
      if (this.stream.isPaused()) this.stream.resume()
    }
    this.queue.onReturn = () => this.cancel()
    stream.on('response', (headers) => {
      const httpStatus = headers[':status']
      if (httpStatus !== 200) {
        this.failure = this.error(GrpcStatus.UNKNOWN, `unexpected HTTP status ${String(httpStatus)} from the engine`)
      }
      // Trailers-only responses carry the status in the headers.
      this.status = readStatus(headers) ?? this.status
    })
    stream.on('data', (chunk: Buffer) => {
      let messages: Buffer[]
      try {
        messages = this.decoder.push(chunk)
      } catch (error) {
        this.failure = this.error(GrpcStatus.INTERNAL, `malformed gRPC frame: ${(error as Error).message}`)
        stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR)
        return
      }
      for (const message of messages) this.queue.push(message)
      if (this.queue.size > 32) stream.pause()
    })
    stream.on('trailers', (headers) => {
      this.status = readStatus(headers) ?? this.status
    })
    stream.on('error', () => {
      // The 'close' handler decides what the failure means; a stream error alone says little (often a reset).
    })
    stream.on('close', () => this.finish())
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.cancel())
      else signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  private readonly onAbort = (): void => {
    this.cancel()
  }

  private error(code: number, message: string, details: Status['details'] = []): BuildkitError {
    return new BuildkitError('BUILDKIT_RPC', `${this.method}: ${message}`, {
      grpcCode: code,
      method: this.method,
      address: this.channel.address,
      details,
    })
  }

  /** Cancels the call: the engine gets RST_STREAM(CANCEL) and stops the work tied to it. */
  cancel(): void {
    if (this.finished) return
    if (!this.failure) {
      const reason = this.signal?.reason
      this.failure = new BuildkitError('BUILDKIT_CANCELLED', `${this.method} was cancelled`, {
        method: this.method,
        address: this.channel.address,
        cause: reason,
      })
    }
    if (!this.stream.closed && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL)
    else this.finish()
  }

  /** Fails the call because the connection is gone. */
  lose(error: BuildkitError): void {
    if (this.finished) return
    this.failure ??= error
    if (!this.stream.destroyed) this.stream.destroy()
    this.finish()
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.signal?.removeEventListener('abort', this.onAbort)
    this.channel.forget(this)
    let error = this.failure
    if (!error) {
      const status = this.status
      if (status === undefined) {
        error =
          this.channel.lostError(this.method) ??
          new BuildkitError(
            'BUILDKIT_CONNECTION_LOST',
            `${this.method}: the engine at ${this.channel.address} closed the call without a status (HTTP/2 code ${this.stream.rstCode ?? 'none'})`,
            { method: this.method, address: this.channel.address },
          )
      } else if (status.code !== GrpcStatus.OK) {
        error = this.error(status.code, status.message, status.details)
      } else if (this.decoder.pending) {
        error = this.error(GrpcStatus.INTERNAL, 'the response ended inside a message')
      }
    }
    if (error) {
      this.queue.fail(error)
      this.rejectDone(error)
    } else {
      this.queue.end()
      this.resolveDone()
    }
  }

  /** Sends one message, waiting while HTTP/2 flow control holds data back. */
  async send(message: Uint8Array): Promise<void> {
    if (this.finished || this.stream.writableEnded) {
      throw this.failure ?? this.error(GrpcStatus.CANCELLED, 'the call has ended')
    }
    if (!this.stream.write(frame(message))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done)
          this.stream.off('close', done)
          resolve()
        }
        this.stream.on('drain', done)
        this.stream.on('close', done)
      })
    }
  }

  /** Half-closes the request side. */
  end(): void {
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end()
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.queue[Symbol.asyncIterator]()
  }
}

/** A gRPC client over one HTTP/2 connection. */
export class GrpcChannel {
  readonly address: string
  private readonly authority: string
  private readonly calls = new Set<Call>()
  private lost: BuildkitError | undefined
  private keepalive: NodeJS.Timeout | undefined
  private pingOutstanding = false

  constructor(
    readonly session: http2.ClientHttp2Session,
    options: ChannelOptions,
  ) {
    this.address = options.address
    this.authority = options.authority ?? 'localhost'
    const onGone = (cause?: unknown): void => {
      const reason = cause instanceof Error ? `: ${cause.message}` : ''
      this.markLost(
        new BuildkitError('BUILDKIT_CONNECTION_LOST', `the connection to the engine at ${this.address} was lost${reason}`, {
          address: this.address,
          cause,
        }),
      )
    }
    session.on('error', onGone)
    session.on('close', () => onGone())
    session.on('goaway', (code: number) => {
      if (code !== http2.constants.NGHTTP2_NO_ERROR) onGone(new Error(`GOAWAY with code ${code}`))
    })
    const keepaliveMs = options.keepaliveMs ?? 10_000
    const keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 20_000
    if (keepaliveMs > 0) {
      this.keepalive = setInterval(() => this.ping(keepaliveTimeoutMs), keepaliveMs)
      this.keepalive.unref()
    }
  }

  private ping(timeoutMs: number): void {
    if (this.calls.size === 0 || this.pingOutstanding || this.lost || this.session.destroyed) return
    this.pingOutstanding = true
    const timer = setTimeout(() => {
      this.session.destroy(new Error(`the engine did not answer an HTTP/2 PING within ${timeoutMs} ms`))
    }, timeoutMs)
    timer.unref()
    try {
      this.session.ping((error) => {
        clearTimeout(timer)
        this.pingOutstanding = false
        if (error && !this.session.destroyed) this.session.destroy(error)
      })
    } catch {
      clearTimeout(timer)
      this.pingOutstanding = false
    }
  }

  private markLost(error: BuildkitError): void {
    if (this.lost) return
    this.lost = error
    if (this.keepalive) clearInterval(this.keepalive)
    for (const call of [...this.calls]) {
      call.lose(
        new BuildkitError('BUILDKIT_CONNECTION_LOST', `${call.method}: ${error.message}`, {
          address: this.address,
          method: call.method,
          cause: error.cause,
        }),
      )
    }
  }

  /** The connection-lost error for a call, once the connection is gone. */
  lostError(method: string): BuildkitError | undefined {
    if (!this.lost && !this.session.destroyed && !this.session.closed) return undefined
    const message = this.lost?.message ?? `the connection to the engine at ${this.address} was closed`
    return new BuildkitError('BUILDKIT_CONNECTION_LOST', `${method}: ${message}`, { address: this.address, method })
  }

  get closed(): boolean {
    return this.lost !== undefined || this.session.closed || this.session.destroyed
  }

  forget(call: Call): void {
    this.calls.delete(call)
  }

  /** Opens a call. The request side stays open until `end()` (unary helpers end it themselves). */
  open(method: string, options: CallOptions = {}): Call {
    const lost = this.lostError(method)
    if (lost) throw lost
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':scheme': 'http',
      ':path': method,
      ':authority': this.authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    }
    for (const [key, value] of Object.entries(options.metadata ?? {})) headers[key.toLowerCase()] = value
    const stream = this.session.request(headers, { endStream: false })
    const call = new Call(this, method, stream, options.signal)
    this.calls.add(call)
    return call
  }

  /** A unary call: one request, one response. */
  async unary(method: string, request: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    const call = this.open(method, options)
    await call.send(request).catch(() => undefined)
    call.end()
    let response: Buffer | undefined
    for await (const message of call) response ??= message
    await call.done
    if (!response) throw new BuildkitError('BUILDKIT_RPC', `${method}: the engine sent no response message`, { method, address: this.address })
    return response
  }

  /** A server-streaming call: one request, a stream of responses. */
  serverStream(method: string, request: Uint8Array, options: CallOptions = {}): Call {
    const call = this.open(method, options)
    void call.send(request).catch(() => undefined)
    call.end()
    return call
  }

  close(): void {
    if (this.keepalive) clearInterval(this.keepalive)
    if (!this.session.closed && !this.session.destroyed) this.session.close()
  }

  destroy(): void {
    if (this.keepalive) clearInterval(this.keepalive)
    if (!this.session.destroyed) this.session.destroy()
  }
}

/** Starts an HTTP/2 client session over an already connected duplex (prior knowledge h2c, or TLS with ALPN h2). */
export function connectHttp2(socket: Duplex, options: { secure?: boolean; authority?: string } = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const authority = `${options.secure ? 'https' : 'http'}://${options.authority ?? 'localhost'}`
    const session = http2.connect(authority, {
      createConnection: () => socket,
      // Node refuses to buffer more than maxSessionMemory (10 MB by default) and then resets streams with
      // ENHANCE_YOUR_CALM instead of letting the daemon answer (wire doc 13.10).
      maxSessionMemory: 64,
      settings: { initialWindowSize: 4 * 1024 * 1024, enablePush: false },
    })
    const onError = (error: Error): void => reject(error)
    session.once('error', onError)
    session.once('connect', () => {
      session.off('error', onError)
      // A bigger connection window than the 64 KiB default keeps large Status and export streams flowing.
      try {
        session.setLocalWindowSize(16 * 1024 * 1024)
      } catch {
        // not fatal: only throughput depends on it
      }
      resolve(session)
    })
  })
}
