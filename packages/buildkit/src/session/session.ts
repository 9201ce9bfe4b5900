/**
 * The session: a gRPC server that the client runs and the engine calls into while solves run (wire doc 4).
 *
 * It is served by Kiln's own small gRPC server on node:http2 (grpc/server.ts says why not grpc-js), over either
 * dockerd's `/session` upgrade (a raw socket on which the daemon is the HTTP/2 client) or a `Control.Session` call
 * (the bytes of the BytesMessages form the HTTP/2 connection). Handlers take and return raw bytes: FileSend carries
 * Packets for the local exporter and BytesMessages for tarball exporters, and only the client knows which one it
 * asked for.
 */
import { randomBytes, createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { resolve as resolvePath } from 'node:path'
import net from 'node:net'
import { Duplex } from 'node:stream'
import type { Writable } from 'node:stream'
import { BuildkitError, GrpcStatus } from '../errors.js'
import type { ServiceError } from '../grpc/server.js'
import { SessionServer } from '../grpc/server.js'
import { filesync, health, secrets as secretsPB, sshforward, control } from '../proto.js'
import type { AuthProvider } from './auth.js'
import { dockerConfigAuth } from './auth.js'
import { receiveDirectory, receiveTarball } from './filesend.js'
import { sendDirectory } from './filesync.js'
import type { SecretProvider, SecretSource } from './secrets.js'
import { MAX_SECRET_BYTES, secretProvider } from './secrets.js'
import type { RawDuplex } from './stream.js'
import { metadataValues } from './stream.js'

/** A local directory offered to builds under a name (`local://NAME`). */
export interface LocalDir {
  path: string
  /** Extra excludes applied before the engine's own (`.dockerignore` syntax). */
  excludePatterns?: readonly string[]
  /** Includes used when the engine sends none. */
  includePatterns?: readonly string[]
}

/** Where the engine's export of one solve goes. */
export type ExportTarget =
  /** The `local` exporter: a directory, replaced as a whole when the export completes. */
  | { kind: 'directory'; dest: string }
  /** `tar`, `oci` and `docker` exporters: a file (written beside it first) or a stream. */
  | { kind: 'tarball'; dest: string | Writable }

export interface SessionOptions {
  /** Informational name sent to the engine. */
  name?: string
  /**
   * Identifies "the same client directories" across builds so the engine re-requests only changed files.
   * Default: derived from the host name and the working directory, stable across runs.
   */
  sharedKey?: string
  /** Local directories by name. */
  dirs?: Record<string, string | LocalDir>
  /** Secrets by id (or a provider function). Unknown ids answer NOT_FOUND. */
  secrets?: Record<string, SecretSource> | SecretProvider
  /** Registry credentials; default: the Docker CLI config. `false` answers every host as anonymous. */
  auth?: AuthProvider | false
  /** SSH agents by id; default `{ default: $SSH_AUTH_SOCK }` when that is set. `false` offers none. */
  ssh?: Record<string, string> | false
}

/** How a session reaches the engine: a raw duplex (dockerd `/session`) or any duplex carrying HTTP/2. */
export type SessionDialer = (headers: [string, string][]) => Promise<Duplex>

/** A 25-character base36 id like BuildKit's own. */
export function newId(): string {
  let out = ''
  for (const byte of randomBytes(25)) out += (byte % 36).toString(36)
  return out
}

interface ExportSlot {
  targets: ExportTarget[]
  errors: Error[]
  transfers: Promise<void>[]
}

function serviceError(code: number, details: string): ServiceError {
  return { code, details }
}

export class Session {
  readonly id: string
  readonly sharedKey: string
  readonly name: string
  private readonly dirs = new Map<string, LocalDir>()
  private readonly secrets: SecretProvider
  private readonly auth: AuthProvider | false
  private readonly ssh: Record<string, string>
  private readonly server = new SessionServer()
  private connection: Duplex | undefined
  private exportSlot: ExportSlot | undefined
  private closedError: BuildkitError | undefined
  private readonly closeListeners = new Set<(error: BuildkitError) => void>()

  constructor(options: SessionOptions = {}) {
    this.id = newId()
    this.name = options.name ?? 'kiln'
    this.sharedKey = options.sharedKey ?? createHash('sha256').update(`${hostname()}\0${process.cwd()}`).digest('hex').slice(0, 32)
    for (const [name, dir] of Object.entries(options.dirs ?? {})) this.addDir(name, dir)
    this.secrets = typeof options.secrets === 'function' ? options.secrets : secretProvider(options.secrets ?? {})
    this.auth = options.auth === undefined ? dockerConfigAuth() : options.auth
    const agent = process.env.SSH_AUTH_SOCK
    this.ssh = options.ssh === false ? {} : (options.ssh ?? (agent ? { default: agent } : {}))
    this.registerAll()
  }

  /**
   * A new, unattached session serving the same dirs, secrets, credentials and agents, with the same shared key
   * (so the engine's cached copies of the dirs still apply).
   */
  sibling(): Session {
    return new Session({ name: this.name, sharedKey: this.sharedKey, dirs: Object.fromEntries(this.dirs), secrets: this.secrets, auth: this.auth, ssh: this.ssh })
  }

  /** Offers a directory under `name`; a later call with the same name replaces it. */
  addDir(name: string, dir: string | LocalDir): void {
    const local = typeof dir === 'string' ? { path: dir } : dir
    this.dirs.set(name, { ...local, path: resolvePath(local.path) })
  }

  /** The session headers (HTTP header names; gRPC metadata uses them lowercased). */
  headers(): [string, string][] {
    return [
      ['X-Docker-Expose-Session-Uuid', this.id],
      ['X-Docker-Expose-Session-Name', this.name],
      ['X-Docker-Expose-Session-Sharedkey', this.sharedKey],
      ...this.server.methods.map((method): [string, string] => ['X-Docker-Expose-Session-Grpc-Method', method]),
    ]
  }

  /** Connects the session to the engine through `dial`. */
  async attach(dial: SessionDialer): Promise<void> {
    if (this.connection) throw new BuildkitError('BUILDKIT_SESSION', `session ${this.id} is already attached`)
    const connection = await dial(this.headers())
    this.connection = connection
    connection.once('close', () => this.markClosed(new BuildkitError('BUILDKIT_SESSION', `the engine closed session ${this.id}`)))
    connection.on('error', () => undefined)
    this.server.inject(connection)
  }

  /** True once the engine or the client closed the session. */
  get closed(): boolean {
    return this.closedError !== undefined
  }

  /** Calls `listener` when the session closes (immediately if it already has). Returns an unsubscribe function. */
  onClose(listener: (error: BuildkitError) => void): () => void {
    if (this.closedError) {
      listener(this.closedError)
      return () => undefined
    }
    this.closeListeners.add(listener)
    return () => this.closeListeners.delete(listener)
  }

  private markClosed(error: BuildkitError): void {
    if (this.closedError) return
    this.closedError = error
    for (const listener of this.closeListeners) listener(error)
    this.closeListeners.clear()
  }

  /** Closes the session: the engine drops it, and local resources are released. */
  async close(): Promise<void> {
    this.markClosed(new BuildkitError('BUILDKIT_SESSION', `session ${this.id} was closed`))
    this.server.close()
    this.connection?.destroy()
  }

  /**
   * Reserves this session's exporter slot for one solve. Returns undefined when another solve holds it (the
   * engine's FileSend calls do not say which solve they belong to, so one session serves one export at a time).
   * @internal
   */
  claimExport(targets: ExportTarget[]): { wait(): Promise<Error[]>; release(): void } | undefined {
    if (this.exportSlot) return undefined
    const slot: ExportSlot = { targets, errors: [], transfers: [] }
    this.exportSlot = slot
    return {
      wait: async () => {
        await Promise.allSettled(slot.transfers)
        return slot.errors
      },
      release: () => {
        if (this.exportSlot === slot) this.exportSlot = undefined
      },
    }
  }

  private registerAll(): void {
    const server = this.server
    server.unary('/grpc.health.v1.Health/Check', () => health.HealthCheckResponse.encode({ status: health.HealthCheckResponse.ServingStatus.SERVING }).finish())
    server.bidi('/moby.filesync.v1.FileSync/DiffCopy', (call) => void this.onFileSync(call))
    server.bidi('/moby.filesync.v1.FileSync/TarStream', (call) => {
      call.fail({ code: GrpcStatus.UNIMPLEMENTED, details: 'TarStream is not supported; use DiffCopy' })
    })
    server.bidi('/moby.filesync.v1.FileSend/DiffCopy', (call) => void this.onFileSend(call))
    server.unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', (request) => this.onGetSecret(request))
    server.unary('/moby.filesync.v1.Auth/Credentials', (request) => this.onCredentials(request))
    for (const method of ['FetchToken', 'GetTokenAuthority', 'VerifyTokenAuthority']) {
      server.unary(`/moby.filesync.v1.Auth/${method}`, () => {
        throw serviceError(GrpcStatus.UNIMPLEMENTED, `${method} is not supported; credentials are offered through Credentials`)
      })
    }
    server.unary('/moby.sshforward.v1.SSH/CheckAgent', (request) => {
      const id = sshforward.CheckAgentRequest.decode(request).ID || 'default'
      if (this.ssh[id]) return new Uint8Array()
      throw serviceError(GrpcStatus.NOT_FOUND, `no SSH agent is offered for id ${JSON.stringify(id)}`)
    })
    server.bidi('/moby.sshforward.v1.SSH/ForwardAgent', (call) => this.onForwardAgent(call))
  }

  private async onFileSync(call: RawDuplex): Promise<void> {
    const name = metadataValues(call, 'dir-name')[0] ?? ''
    const dir = this.dirs.get(name)
    if (!dir) {
      call.fail({ code: GrpcStatus.NOT_FOUND, details: `no access allowed to dir "${name}"` })
      return
    }
    const includes = metadataValues(call, 'include-patterns')
    const excludes = metadataValues(call, 'exclude-patterns')
    const followPaths = metadataValues(call, 'followpaths')
    try {
      await sendDirectory(call, dir.path, {
        includePatterns: includes.length > 0 ? includes : dir.includePatterns,
        excludePatterns: [...(dir.excludePatterns ?? []), ...excludes],
        followPaths,
      })
    } catch {
      // The engine has been told (ERR) and reports the failure through the solve.
    }
  }

  private async onFileSend(call: RawDuplex): Promise<void> {
    const slot = this.exportSlot
    const index = Number(metadataValues(call, 'buildkit-attachable-exporter-id')[0] ?? '0')
    const target = slot?.targets[index] ?? slot?.targets[0]
    if (!slot || !target) {
      call.fail({ code: GrpcStatus.FAILED_PRECONDITION, details: 'this session expects no export' })
      return
    }
    const transfer = target.kind === 'directory' ? receiveDirectory(call, target.dest) : receiveTarball(call, target.dest)
    slot.transfers.push(transfer)
    try {
      await transfer
    } catch (error) {
      slot.errors.push(error as Error)
      if (!call.destroyed && !call.writableEnded) call.fail({ code: GrpcStatus.INTERNAL, details: (error as Error).message })
    }
  }

  private async onGetSecret(request: Buffer): Promise<Uint8Array> {
    const id = secretsPB.GetSecretRequest.decode(request).ID
    let data: Uint8Array | undefined
    try {
      data = await this.secrets(id)
    } catch {
      // Never echo the provider's error: it may quote the secret's source.
      throw serviceError(GrpcStatus.INTERNAL, `secret ${id} could not be read`)
    }
    if (data === undefined) throw serviceError(GrpcStatus.NOT_FOUND, `secret ${id} not found`)
    if (data.length > MAX_SECRET_BYTES) throw serviceError(GrpcStatus.INVALID_ARGUMENT, `secret ${id} is larger than ${MAX_SECRET_BYTES} bytes`)
    return secretsPB.GetSecretResponse.encode({ data }).finish()
  }

  private async onCredentials(request: Buffer): Promise<Uint8Array> {
    const host = filesync.CredentialsRequest.decode(request).Host
    const credentials = this.auth ? await this.auth(host).catch(() => undefined) : undefined
    return filesync.CredentialsResponse.encode({ Username: credentials?.username ?? '', Secret: credentials?.secret ?? '' }).finish()
  }

  private onForwardAgent(call: RawDuplex): void {
    const id = metadataValues(call, 'buildkit.ssh.id')[0] ?? 'default'
    const socketPath = this.ssh[id]
    if (!socketPath) {
      call.fail({ code: GrpcStatus.NOT_FOUND, details: `no SSH agent is offered for id ${JSON.stringify(id)}` })
      return
    }
    const agent = net.connect(socketPath)
    agent.on('data', (chunk: Buffer) => {
      if (!call.write(Buffer.from(sshforward.BytesMessage.encode({ data: chunk }).finish()))) {
        agent.pause()
        call.once('drain', () => agent.resume())
      }
    })
    agent.on('end', () => call.end())
    agent.on('error', () => call.end())
    call.on('data', (message: Buffer) => {
      agent.write(sshforward.BytesMessage.decode(message).data ?? new Uint8Array())
    })
    call.on('end', () => agent.end())
    call.on('cancelled', () => agent.destroy())
  }
}

/**
 * Carries an HTTP/2 connection inside a `Control.Session` call: each written chunk becomes one BytesMessage and
 * each received BytesMessage is pushed as bytes.
 */
export function bytesMessageDuplex(call: { send(message: Uint8Array): Promise<void>; end(): void; cancel(): void } & AsyncIterable<Buffer>): Duplex {
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      call.send(control.BytesMessage.encode({ data: chunk }).finish()).then(() => callback(), callback)
    },
    final(callback) {
      call.end()
      callback()
    },
    destroy(error, callback) {
      call.cancel()
      callback(error)
    },
  })
  void (async () => {
    try {
      for await (const message of call) duplex.push(control.BytesMessage.decode(message).data ?? Buffer.alloc(0))
      duplex.push(null)
    } catch (error) {
      duplex.destroy(error as Error)
    }
  })()
  return duplex
}
