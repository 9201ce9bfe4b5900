import { invalid } from './errors.js'
import { normalizeImageRef } from './image-ref.js'
import type { PbOp } from './pb/types.js'
import { EMPTY_CONSTRAINTS, normalizePlatform, platformToPB, type Platform } from './platform.js'
import { State, type ImageConfig } from './state.js'
import { MEMO_SLOT, internCaps, joinPath, makeOp, pickOpOptions, type BuildContext, type BuiltOp, type OpOptions, type Output, type Vertex } from './vertex.js'

/** A source op: `docker-image://`, `local://`, `git://`, `http(s)://`, `oci-layout://`. */
export class SourceVertex implements Vertex {
  /** @internal */
  [MEMO_SLOT]: unknown = undefined

  /** The kind of op (on the prototype: one field less per vertex). */
  get kind(): 'source' {
    return 'source'
  }

  constructor(
    readonly identifier: string,
    readonly attrs: Readonly<Record<string, string>>,
    readonly caps: readonly string[],
    /** Whether the op carries a platform (image and OCI layout sources, like Go). */
    readonly platformSpecific: boolean,
    readonly platform: Platform | undefined,
    readonly options: OpOptions,
  ) {}

  inputs(): readonly Output[] {
    return []
  }

  build(context: BuildContext): BuiltOp {
    const attrs: Record<string, string> = { ...this.attrs }
    const caps = new Set(this.caps)
    if (this.identifier.startsWith('local://')) {
      if (attrs['local.session'] === undefined && attrs['local.unique'] === undefined) {
        attrs['local.unique'] = context.localUniqueId
        caps.add('source.local.unique')
      }
      // `metadata` is what engines without the differ attribute do anyway: drop it there rather than fail.
      if (attrs['local.differ'] === 'metadata' && context.support('source.local.differ') === 'absent') {
        delete attrs['local.differ']
        caps.delete('source.local.differ')
      }
    }
    const op: PbOp = makeOp({
      source: { identifier: this.identifier, attrs },
      platform: this.platformSpecific ? platformToPB(this.platform ?? context.platform) : undefined,
      constraints: EMPTY_CONSTRAINTS,
    })
    return { op, caps: internCaps(caps), name: this.identifier, options: this.options }
  }
}

function source(identifier: string, attrs: Record<string, string>, caps: string[], platformSpecific: boolean, platform: Platform | undefined, options: OpOptions | undefined): State {
  const vertex = new SourceVertex(identifier, attrs, caps, platformSpecific, platform, pickOpOptions(options))
  return new State({ output: { vertex, index: 0 }, ...(platform ? { platform } : {}) })
}

/** Options of {@link image}. */
export interface ImageOptions extends OpOptions {
  /** Platform of the image (and of ops built on it); default marshal's platform. */
  platform?: Platform | string
  /** `default`, `pull` (always ask the registry) or `local` (engine store only). */
  resolveMode?: 'default' | 'pull' | 'local'
  /** `image.recordtype`: `regular`, `internal` or `frontend`. */
  recordType?: 'regular' | 'internal' | 'frontend'
  /** Use only the first N layers (BuildKit v0.11+). */
  layerLimit?: number
  /** The image's OCI config, when known: seeds env, working directory and user. */
  config?: ImageConfig
}

/**
 * A container image as the filesystem. The reference is normalized like Docker's (`busybox` →
 * `docker.io/library/busybox:latest`).
 */
export function image(ref: string, options: ImageOptions = {}): State {
  const { normalized } = normalizeImageRef(ref)
  const attrs: Record<string, string> = {}
  const caps = ['source.image']
  if (options.resolveMode !== undefined) {
    if (!['default', 'pull', 'local'].includes(options.resolveMode)) invalid(`Expected resolveMode default, pull or local, received ${JSON.stringify(options.resolveMode)}`)
    attrs['image.resolvemode'] = options.resolveMode
    if (options.resolveMode === 'pull') caps.push('source.image.resolvemode')
  }
  if (options.recordType !== undefined) attrs['image.recordtype'] = options.recordType
  if (options.layerLimit !== undefined) {
    if (!Number.isInteger(options.layerLimit) || options.layerLimit < 0) invalid(`Expected layerLimit to be a non-negative integer, received ${options.layerLimit}`)
    attrs['image.layerlimit'] = String(options.layerLimit)
    caps.push('source.image.layerlimit')
  }
  const platform = options.platform === undefined ? undefined : normalizePlatform(options.platform)
  const state = source(`docker-image://${normalized}`, attrs, caps, true, platform, options)
  return options.config ? state.withImageConfig(options.config) : state
}

/** Options of {@link local}. */
export interface LocalOptions extends OpOptions {
  /** Only send paths matching these patterns. */
  include?: readonly string[]
  /** Do not send paths matching these patterns. */
  exclude?: readonly string[]
  /** Send only these paths (and what symlinks in them point to). */
  followPaths?: readonly string[]
  /** A stable key for incremental transfers of the same directory. */
  sharedKeyHint?: string
  /** Bind to this session id (`local.session`); then no `local.unique` is added. */
  sessionId?: string
  /** `local.unique`; default marshal's `localUniqueId`. Ignored with `sessionId`. */
  uniqueId?: string
  /** How the engine decides to re-send a file: `metadata` (default) or `none` (always). BuildKit v0.9+. */
  differ?: 'metadata' | 'none'
}

/** Go's encoding/json for a string list (HTML-safe escaping). */
function goJsonList(values: readonly string[]): string {
  return JSON.stringify(values).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A directory the client sends through the session's file sync, named `name`. */
export function local(name: string, options: LocalOptions = {}): State {
  if (!name) invalid('Expected a local source name')
  const attrs: Record<string, string> = {}
  const caps = ['source.local']
  if (options.sessionId) {
    attrs['local.session'] = options.sessionId
    caps.push('source.local.sessionid')
  } else if (options.uniqueId) {
    attrs['local.unique'] = options.uniqueId
    caps.push('source.local.unique')
  }
  if (options.include?.length) {
    attrs['local.includepattern'] = goJsonList(options.include)
    caps.push('source.local.includepatterns')
  }
  if (options.followPaths?.length) {
    attrs['local.followpaths'] = goJsonList(options.followPaths)
    caps.push('source.local.followpaths')
  }
  if (options.exclude?.length) {
    attrs['local.excludepatterns'] = goJsonList(options.exclude)
    caps.push('source.local.excludepatterns')
  }
  if (options.sharedKeyHint) {
    attrs['local.sharedkeyhint'] = options.sharedKeyHint
    caps.push('source.local.sharedkeyhint')
  }
  if (options.differ !== undefined) {
    if (options.differ !== 'metadata' && options.differ !== 'none') invalid(`Expected differ metadata or none, received ${JSON.stringify(options.differ)}`)
    attrs['local.differ'] = options.differ
    caps.push('source.local.differ')
  }
  return source(`local://${name}`, attrs, caps, false, undefined, options)
}

/** Options of {@link git}. */
export interface GitOptions extends OpOptions {
  /** Keep the `.git` directory. */
  keepGitDir?: boolean
  /** Only this subdirectory of the repository (BuildKit v0.9+). */
  subdir?: string
  /** Secret id of an auth token; default `GIT_AUTH_TOKEN`. */
  authTokenSecret?: string
  /** Secret id of an auth header; default `GIT_AUTH_HEADER`. */
  authHeaderSecret?: string
  /** known_hosts content for ssh remotes. */
  knownSshHosts?: string
  /** ssh agent id for ssh remotes; default `default`. */
  mountSshSock?: string
}

interface GitRemote {
  host: string
  path: string
  ssh: boolean
  url: string
}

function parseGitRemote(remote: string): GitRemote {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?([^/]+)(\/.*)?$/i.exec(remote)
  if (scheme) {
    const protocol = (scheme[1] as string).toLowerCase()
    if (!['http', 'https', 'git', 'ssh'].includes(protocol)) invalid(`Expected a git remote over https, http, git or ssh, received ${JSON.stringify(remote)}`)
    return { host: scheme[2] as string, path: scheme[3] ?? '/', ssh: protocol === 'ssh', url: remote }
  }
  const scp = /^([\w.-]+)@([^:/]+):(.+)$/.exec(remote)
  if (scp) return { host: scp[2] as string, path: scp[3] as string, ssh: true, url: remote }
  const bare = /^([^/:@]+\.[^/:@]+|localhost)(\/.*)$/.exec(remote)
  if (bare) return { host: bare[1] as string, path: bare[2] as string, ssh: false, url: `https://${remote}` }
  invalid(`Expected a git remote URL (https://host/path, ssh://…, user@host:path), received ${JSON.stringify(remote)}`)
}

/** A git repository checked out at `ref` (branch, tag or commit; default the remote's HEAD). */
export function git(remote: string, ref = '', options: GitOptions = {}): State {
  const parsed = parseGitRemote(remote)
  let id = parsed.host + joinPath('/', parsed.path)
  const subdir = options.subdir ?? ''
  if (ref !== '' || subdir !== '') id += `#${ref}${subdir ? `:${subdir}` : ''}`
  const attrs: Record<string, string> = { 'git.fullurl': parsed.url }
  const caps = ['source.git', 'source.git.fullurl']
  if (subdir) caps.push('source.git.subdir')
  if (options.keepGitDir) {
    attrs['git.keepgitdir'] = 'true'
    caps.push('source.git.keepgitdir')
  }
  attrs['git.authtokensecret'] = options.authTokenSecret ?? 'GIT_AUTH_TOKEN'
  attrs['git.authheadersecret'] = options.authHeaderSecret ?? 'GIT_AUTH_HEADER'
  if (options.authTokenSecret !== undefined || options.authHeaderSecret !== undefined) caps.push('source.git.httpauth')
  if (parsed.ssh) {
    if (options.knownSshHosts) {
      attrs['git.knownsshhosts'] = options.knownSshHosts
      caps.push('source.git.knownsshhosts')
    }
    attrs['git.mountsshsock'] = options.mountSshSock ?? 'default'
    caps.push('source.git.mountsshsock')
  }
  return source(`git://${id}`, attrs, caps, false, undefined, options)
}

/** Options of {@link http}. */
export interface HttpOptions extends OpOptions {
  /** Expected digest of the content, `sha256:<hex>`. */
  checksum?: string
  /** File name of the download; default from the URL. */
  filename?: string
  /** Permission bits of the file. */
  perm?: number
  uid?: number
  gid?: number
}

/** A file downloaded over http(s). */
export function http(url: string, options: HttpOptions = {}): State {
  if (!/^https?:\/\//.test(url)) invalid(`Expected an http:// or https:// URL, received ${JSON.stringify(url)}`)
  const attrs: Record<string, string> = {}
  const caps = ['source.http']
  if (options.checksum) {
    if (!/^sha256:[a-f0-9]{64}$/.test(options.checksum)) invalid(`Expected checksum sha256:<64 hex>, received ${JSON.stringify(options.checksum)}`)
    attrs['http.checksum'] = options.checksum
    caps.push('source.http.checksum')
  }
  if (options.filename) attrs['http.filename'] = options.filename
  if (options.perm !== undefined) {
    attrs['http.perm'] = `0${options.perm.toString(8)}`
    caps.push('source.http.perm')
  }
  if (options.uid) attrs['http.uid'] = String(options.uid)
  if (options.gid) attrs['http.gid'] = String(options.gid)
  if (options.uid || options.gid) caps.push('soruce.http.uidgid')
  return source(url, attrs, caps, false, undefined, options)
}

/** Options of {@link ociLayout}. */
export interface OciLayoutOptions extends OpOptions {
  /** The session that serves the layout's content store. */
  sessionId?: string
  /** The store id in that session; default the reference's name. */
  storeId?: string
  layerLimit?: number
  platform?: Platform | string
}

/**
 * An image from an OCI layout served by the client session (BuildKit v0.11+; dockerd does not implement it).
 * The reference needs a digest: `name@sha256:…`.
 */
export function ociLayout(ref: string, options: OciLayoutOptions = {}): State {
  const parsed = normalizeImageRef(ref)
  if (!parsed.digest) invalid(`Expected an OCI layout reference with a digest (name@sha256:…), received ${JSON.stringify(ref)}`)
  const name = `${parsed.domain}/${parsed.path}`
  const attrs: Record<string, string> = {}
  if (options.sessionId) attrs['oci.session'] = options.sessionId
  attrs['oci.store'] = options.storeId ?? name
  const caps = ['source.ocilayout']
  if (options.layerLimit !== undefined) {
    attrs['oci.layerlimit'] = String(options.layerLimit)
    caps.push('source.image.layerlimit')
  }
  const platform = options.platform === undefined ? undefined : normalizePlatform(options.platform)
  return source(`oci-layout://${name}@${parsed.digest}`, attrs, caps, true, platform, options)
}
