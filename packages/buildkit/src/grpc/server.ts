/**
 * A small gRPC server on node:http2, for the session (where the engine is the HTTP/2 client and Kiln serves).
 *
 * Why not @grpc/grpc-js here: a file sync is tens of thousands of tiny messages (a STAT per entry, a REQ and two
 * DATA per small file), and grpc-js pays a Writable/Readable round, an interceptor chain, a copy and an HTTP/2
 * write per message: about 3 CPU-seconds for 20 000 files on a machine whose two cores the engine needs too. Here
 * the messages a handler writes during one turn of the event loop are framed into one buffer and handed to HTTP/2
 * in one write, and incoming messages are split with the same decoder as the client side. The server speaks only
 * what BuildKit's session needs: unary and bidi calls, raw protobuf bytes, identity encoding, status in trailers
 * (or trailers-only), UNIMPLEMENTED for methods nobody registered.
 */
import { EventEmitter } from 'node:events'
import http2 from 'node:http2'
import type { Duplex } from 'node:stream'
import { GrpcStatus } from '../errors.js'
import { MessageDecoder } from './framing.js'
import { AsyncQueue } from './queue.js'

/** The status a handler fails a call with (the shape grpc-js handlers use too). */
export interface ServiceError {
  code: number
  details: string
}

/** Request metadata: every value of a key, in order, as the peer sent them (repeated fields are not joined). */
export class CallMetadata {
  private readonly values = new Map<string, string[]>()

  constructor(rawHeaders: readonly string[]) {
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const key = (rawHeaders[i] as string).toLowerCase()
      if (key.startsWith(':')) continue
      const list = this.values.get(key)
      if (list) list.push(rawHeaders[i + 1] as string)
      else this.values.set(key, [rawHeaders[i + 1] as string])
    }
  }

  get(key: string): string[] {
    return this.values.get(key.toLowerCase()) ?? []
  }
}

/** Bytes a call may have queued or in HTTP/2 before `send` makes writers wait (flow control pushes back here). */
const HIGH_WATER = 8 * 1024 * 1024
const LOW_WATER = 2 * 1024 * 1024
/** Payloads at least this big are handed to HTTP/2 as they are; smaller ones are copied into the batch. */
const COPY_LIMIT = 16 * 1024
/** Incoming messages buffered for a `messages()` reader before the stream is paused. */
const READ_AHEAD = 32

/**
 * One call. Events: `'data'` (one message, a Buffer), `'end'` (the peer finished sending), `'cancelled'` (the
 * stream went away before the call ended), `'drain'` (writers may continue), `'written'` (a batch of queued bytes
 * went out; see `bytesWritten`), `'close'`.
 */
export class ServerCall extends EventEmitter {
  /** The stream is gone (ended, reset or closed). */
  destroyed = false
  /** The call was ended by this side (a status was sent or is being sent). */
  writableEnded = false
  private headersSent = false
  private batch: (Buffer | Uint8Array)[] = []
  private batchBytes = 0
  private flushScheduled = false
  /** Bytes queued here or handed to HTTP/2 and not yet written out. */
  private outstanding = 0
  private queuedTotal = 0
  private writtenTotal = 0
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = []
  private readonly decoder = new MessageDecoder()
  /** Messages that arrived while nobody listened for 'data' (a handler still setting up). */
  private inbox: Buffer[] = []
  private ended = false
  private cancelled = false
  private readonly flushNow = (): void => this.flush()

  constructor(
    readonly method: string,
    readonly metadata: CallMetadata,
    private readonly stream: http2.ServerHttp2Stream,
  ) {
    super()
    stream.on('data', (chunk: Buffer) => {
      let messages: Buffer[]
      try {
        messages = this.decoder.push(chunk)
      } catch (error) {
        this.fail({ code: GrpcStatus.INTERNAL, details: `malformed gRPC frame: ${(error as Error).message}` })
        return
      }
      for (const message of messages) {
        if (this.listenerCount('data') > 0) this.emit('data', message)
        else this.inbox.push(message)
      }
      if (this.inbox.length > READ_AHEAD) stream.pause()
    })
    stream.on('end', () => {
      this.ended = true
      this.emit('end')
    })
    stream.on('error', () => {
      // 'close' follows and says what it means for the call.
    })
    stream.on('close', () => {
      this.destroyed = true
      const error = new Error('the stream closed while writing')
      for (const waiter of this.waiters.splice(0)) waiter.reject(error)
      if (!this.writableEnded) {
        this.cancelled = true
        this.emit('cancelled')
      }
      this.emit('close')
    })
  }

  /**
   * Queues one message (its parts are concatenated: a small header and a big payload need no copy). Returns false
   * when the caller should wait for `'drain'` before writing more.
   */
  write(message: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.writableEnded || this.destroyed) return false
    const parts = message instanceof Uint8Array ? [message] : message
    let length = 0
    for (const part of parts) length += part.byteLength
    const header = Buffer.allocUnsafe(5)
    header[0] = 0
    header.writeUInt32BE(length, 1)
    this.batch.push(header)
    for (const part of parts) if (part.byteLength > 0) this.batch.push(part)
    return this.queued(length + 5)
  }

  /**
   * Queues bytes that already hold whole gRPC messages, each with its 5-byte prefix (a sender that encodes many
   * small messages into one buffer). Returns false when the caller should wait for `'drain'`.
   */
  writeFramed(frames: Uint8Array): boolean {
    if (this.writableEnded || this.destroyed) return false
    if (frames.byteLength === 0) return this.outstanding <= HIGH_WATER
    this.batch.push(frames)
    return this.queued(frames.byteLength)
  }

  private queued(bytes: number): boolean {
    this.queuedTotal += bytes
    this.batchBytes += bytes
    this.outstanding += bytes
    if (!this.flushScheduled) {
      this.flushScheduled = true
      // After the current I/O phase: everything written while handling one socket read goes out in one write.
      setImmediate(this.flushNow)
    }
    return this.outstanding <= HIGH_WATER
  }

  /** Bytes queued since the call started (messages with their prefixes). */
  get bytesQueued(): number {
    return this.queuedTotal
  }

  /**
   * Bytes written to the connection since the call started, in the order they were queued. The difference to
   * `bytesQueued` stays here while the peer's flow-control window is full, that is while the peer has not yet read
   * what it already got.
   */
  get bytesWritten(): number {
    return this.writtenTotal
  }

  /** Queues one message; resolves at once unless too many bytes are waiting, then when they have gone out. */
  send(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.writableEnded || this.destroyed) return Promise.reject(new Error('the stream is closed'))
    if (this.write(message)) return Promise.resolve()
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /**
   * Hands the queued messages to HTTP/2 now (otherwise that happens after the current I/O phase): small ones
   * copied into one buffer, big payloads as they are. For a writer that has just queued a whole batch.
   */
  flush(): void {
    this.flushScheduled = false
    if (this.batch.length === 0 || this.destroyed || this.stream.destroyed) return
    this.sendHeaders()
    const parts = this.batch
    const total = this.batchBytes
    this.batch = []
    this.batchBytes = 0
    const done = (): void => {
      this.outstanding -= total
      this.writtenTotal += total
      this.emit('written')
      if (this.outstanding <= LOW_WATER) {
        for (const waiter of this.waiters.splice(0)) waiter.resolve()
        this.emit('drain')
      }
    }
    const chunks: Uint8Array[] = []
    let run: Uint8Array[] = []
    let runBytes = 0
    const endRun = (): void => {
      if (run.length === 1) chunks.push(run[0] as Uint8Array)
      else if (run.length > 1) chunks.push(Buffer.concat(run, runBytes))
      run = []
      runBytes = 0
    }
    for (const part of parts) {
      if (part.byteLength >= COPY_LIMIT) {
        endRun()
        chunks.push(part)
      } else {
        run.push(part)
        runBytes += part.byteLength
      }
    }
    endRun()
    if (chunks.length > 1) this.stream.cork()
    for (let i = 0; i < chunks.length; i++) {
      this.stream.write(chunks[i], i === chunks.length - 1 ? done : undefined)
    }
    if (chunks.length > 1) this.stream.uncork()
  }

  private sendHeaders(): void {
    if (this.headersSent) return
    this.headersSent = true
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
  }

  /** Ends the call with status OK once everything queued has been written. */
  end(): void {
    this.finish({ code: GrpcStatus.OK, details: '' })
  }

  /** Ends the call with an error status (trailers-only when nothing was sent yet). */
  fail(error: ServiceError): void {
    this.finish(error)
  }

  private finish(status: ServiceError): void {
    if (this.writableEnded || this.destroyed) return
    this.writableEnded = true
    // Reset by the peer, with 'close' still to come: there is nobody to tell.
    if (this.stream.destroyed || this.stream.closed) return
    const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(status.code) }
    if (status.details) trailers['grpc-message'] = encodeURIComponent(status.details)
    if (!this.headersSent && this.batch.length === 0) {
      this.headersSent = true
      this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true })
      return
    }
    this.flush()
    this.stream.once('wantTrailers', () => this.stream.sendTrailers(trailers))
    this.stream.end()
  }

  /** Pauses or resumes reading from the peer (HTTP/2 flow control then holds the peer back). */
  pause(): void {
    this.stream.pause()
  }

  resume(): void {
    this.stream.resume()
  }

  /**
   * The incoming messages as an async iterable, with back-pressure (the stream pauses while the reader lags).
   * Leaving the loop early does not end the call: the handler still sends its status.
   */
  messages(): AsyncIterable<Buffer> {
    const queue = new AsyncQueue<Buffer>()
    queue.onDrain = () => this.resume()
    const end = (): void => {
      if (this.decoder.pending) queue.fail(new Error('the engine ended the call in the middle of a message'))
      else queue.end()
    }
    const cancel = (): void => queue.fail(new Error('the engine cancelled the call'))
    for (const message of this.inbox.splice(0)) queue.push(message)
    if (this.ended) end()
    else if (this.cancelled) cancel()
    else {
      this.on('data', (message: Buffer) => {
        queue.push(message)
        if (queue.size > READ_AHEAD) this.pause()
      })
      this.once('end', end)
      this.once('cancelled', cancel)
    }
    if (queue.size <= READ_AHEAD) this.resume()
    return queue
  }
}

export type UnaryHandler = (request: Buffer, call: ServerCall) => Uint8Array | Promise<Uint8Array>
export type BidiHandler = (call: ServerCall) => void

type Handler = { type: 'unary'; handler: UnaryHandler } | { type: 'bidi'; handler: BidiHandler }

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && typeof (error as ServiceError).code === 'number' && typeof (error as ServiceError).details === 'string'
}

/** Serves registered methods on HTTP/2 connections handed to `inject`. */
export class SessionServer {
  private readonly handlers = new Map<string, Handler>()
  private readonly sessions = new Set<http2.ServerHttp2Session>()
  private readonly server: http2.Http2Server

  constructor() {
    // No cap on buffered session memory: Node degrades badly when it is hit (grpc-js disables it the same way).
    // Windows bigger than the 64 KiB default keep exports (the engine sending to us) flowing, as on the client side.
    this.server = http2.createServer({
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
      settings: { initialWindowSize: 4 * 1024 * 1024 },
    })
    this.server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session)
      session.on('error', () => undefined)
      session.once('connect', () => {
        try {
          session.setLocalWindowSize(16 * 1024 * 1024)
        } catch {
          // not fatal: only throughput depends on it
        }
      })
      session.once('close', () => this.sessions.delete(session))
    })
    this.server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      this.onStream(stream, headers, rawHeaders)
    })
  }

  /** The methods served, as `/<package>.<Service>/<Method>`. */
  get methods(): string[] {
    return [...this.handlers.keys()]
  }

  unary(method: string, handler: UnaryHandler): void {
    this.handlers.set(method, { type: 'unary', handler })
  }

  bidi(method: string, handler: BidiHandler): void {
    this.handlers.set(method, { type: 'bidi', handler })
  }

  /** Serves HTTP/2 (the peer is the client) on an already connected duplex. */
  inject(connection: Duplex): void {
    this.server.emit('connection', connection)
  }

  /** Drops every connection at once. */
  close(): void {
    for (const session of this.sessions) session.destroy()
    this.sessions.clear()
    this.server.close()
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const method = String(headers[':path'] ?? '')
    const call = new ServerCall(method, new CallMetadata(rawHeaders), stream)
    const entry = this.handlers.get(method)
    if (!entry) {
      call.fail({ code: GrpcStatus.UNIMPLEMENTED, details: `The server does not implement the method ${method}` })
      return
    }
    if (entry.type === 'bidi') {
      entry.handler(call)
      return
    }
    const requests: Buffer[] = []
    call.on('data', (message: Buffer) => requests.push(message))
    call.once('end', () => {
      const request = requests[0]
      if (requests.length !== 1 || !request) {
        call.fail({ code: GrpcStatus.UNIMPLEMENTED, details: `expected one request message for ${method}, got ${requests.length}` })
        return
      }
      Promise.resolve()
        .then(() => entry.handler(request, call))
        .then(
          (response) => {
            call.write(response)
            call.end()
          },
          (error: unknown) => {
            call.fail(isServiceError(error) ? error : { code: GrpcStatus.UNKNOWN, details: (error as Error)?.message ?? String(error) })
          },
        )
    })
  }
}
