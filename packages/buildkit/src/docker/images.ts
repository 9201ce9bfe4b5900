/**
 * Image operations through the Docker Engine API: inspect, tag and push (with `X-Registry-Auth`). The push reads the
 * daemon's JSON progress stream, fails on its first `error` message, and returns the pushed manifest digest from
 * the `aux` message (`{"aux": {"Tag", "Digest", "Size"}}`).
 */
import { EngineError } from '@kiln/core'
import { apiError, dockerJson, dockerRequest, errorMessage, jsonMessages, readBody, type DockerEndpoint } from './api.js'

/** An image name split the way Docker does it. */
export interface ImageName {
  /** The registry host (`127.0.0.1:5000`, `docker.io`). */
  readonly registry: string
  /** Everything before the tag or digest, as written (`127.0.0.1:5000/team/app`). */
  readonly repository: string
  readonly tag?: string
  readonly digest?: string
}

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/

/**
 * Splits an image reference: `host:port/repo/path:tag@digest`. The first component is a registry when it has a `.`
 * or `:`, or is `localhost` (Docker's rule); otherwise the registry is `docker.io`. Throws on a malformed name.
 */
export function parseImageName(reference: string): ImageName {
  const fail = (why: string): never => {
    throw new EngineError('BUILDKIT_EXPORT_FAILED', `Invalid image name ${JSON.stringify(reference)}: expected [host[:port]/]repository[:tag][@digest], ${why}`, { expected: '[host[:port]/]repository[:tag][@digest]', received: reference })
  }
  let rest = reference
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) fail(`received the digest ${JSON.stringify(digest)}`)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) fail(`received the tag ${JSON.stringify(tag)}`)
  }
  const slash = rest.indexOf('/')
  const first = slash >= 0 ? rest.slice(0, slash) : ''
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  const registry = hasRegistry ? first : 'docker.io'
  const path = hasRegistry ? rest.slice(slash + 1) : rest
  if (hasRegistry && !HOST.test(registry)) fail(`received the registry ${JSON.stringify(registry)}`)
  if (!NAME.test(path)) fail(`received the repository ${JSON.stringify(path)} (lowercase letters, digits, separators)`)
  return { registry, repository: rest, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) }
}

/** Credentials for a registry, as the daemon takes them in `X-Registry-Auth`. */
export type RegistryCredentials =
  | { readonly username: string; readonly password: string }
  /** An OAuth refresh token (Docker config.json's `identitytoken`). */
  | { readonly identityToken: string }
  /** A bearer token sent to the registry as is. */
  | { readonly registryToken: string }

/**
 * Credentials from a secret's text: `user:password` (split at the first colon), or a bare token (sent as a bearer
 * token). Surrounding whitespace, such as a file's trailing newline, is ignored.
 */
export function credentialsFromSecret(value: string | Uint8Array): RegistryCredentials {
  const text = (typeof value === 'string' ? value : Buffer.from(value).toString('utf8')).trim()
  const colon = text.indexOf(':')
  if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) }
  if (text === '') throw new EngineError('BUILDKIT_AUTH', 'The registry credentials secret is empty: expected "user:password" or a token', { expected: '"user:password" or a token', received: 'an empty secret' })
  return { registryToken: text }
}

/**
 * The `X-Registry-Auth` header value: base64url (with padding, as the Docker CLI sends it) of the auth JSON.
 * No credentials gives `{}` (anonymous).
 */
export function encodeRegistryAuth(credentials: RegistryCredentials | undefined, serverAddress?: string): string {
  const body: Record<string, string> = {}
  if (credentials && 'username' in credentials) Object.assign(body, { username: credentials.username, password: credentials.password })
  else if (credentials && 'identityToken' in credentials) body.identitytoken = credentials.identityToken
  else if (credentials && 'registryToken' in credentials) body.registrytoken = credentials.registryToken
  if (credentials && serverAddress) body.serveraddress = serverAddress
  return Buffer.from(JSON.stringify(body)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
}

/** What {@link inspectImage} returns (a subset of `GET /images/{name}/json`). */
export interface ImageInspect {
  /** The image ID (`sha256:` of the image config). */
  readonly id: string
  readonly repoTags: readonly string[]
  /** `repository@sha256:…` for each registry the image was pushed to or pulled from. */
  readonly repoDigests: readonly string[]
  readonly size?: number
}

/** Inspects an image in the daemon's store; a missing image is an `EngineError` naming it. */
export async function inspectImage(endpoint: DockerEndpoint, name: string, options: { signal?: AbortSignal } = {}): Promise<ImageInspect> {
  const raw = await dockerJson<{ Id?: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Size?: number }>(endpoint, `/images/${name}/json`, options)
  return { id: raw.Id ?? '', repoTags: raw.RepoTags ?? [], repoDigests: raw.RepoDigests ?? [], ...(raw.Size === undefined ? {} : { size: raw.Size }) }
}

/** Tags an image of the daemon's store as `target` (`repo[:tag]`). */
export async function tagImage(endpoint: DockerEndpoint, source: string, target: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  const name = parseImageName(target)
  if (name.digest !== undefined) throw new EngineError('BUILDKIT_EXPORT_FAILED', `Cannot tag ${source} as ${target}: expected a tag, received a digest`, { expected: 'repository[:tag]', received: target })
  await dockerJson(endpoint, `/images/${source}/tag`, { method: 'POST', query: { repo: name.repository, tag: name.tag ?? 'latest' }, ...(options.signal ? { signal: options.signal } : {}) })
}

/** Options of {@link pushImage}. */
export interface PushImageOptions {
  /** Credentials for the image's registry; none pushes anonymously. */
  credentials?: RegistryCredentials
  signal?: AbortSignal
  /** Each progress message of the daemon (`status`, `progress`, `id`), for logs. */
  onProgress?: (message: { status?: string; id?: string; progress?: string }) => void
}

/** What a push did. */
export interface PushResult {
  /** The reference pushed (`host/repo:tag`). */
  readonly name: string
  /** The manifest digest the registry now serves under the tag. */
  readonly digest: string
  /** The manifest's size in bytes, when the daemon reports it. */
  readonly size?: number
}

const AUTH_FAILURE = /unauthorized|authentication required|denied|no basic auth credentials|forbidden/i

/**
 * Pushes `name` (`host[:port]/repo:tag`, already in the daemon's store) with `POST /images/{repo}/push?tag=`. Reads
 * the progress stream to its end: the first `error` message fails the push (`BUILDKIT_AUTH` when the registry
 * refused the credentials), and the `aux.Digest` message gives the pushed manifest digest.
 */
export async function pushImage(endpoint: DockerEndpoint, name: string, options: PushImageOptions = {}): Promise<PushResult> {
  const parsed = parseImageName(name)
  if (parsed.digest !== undefined) throw new EngineError('BUILDKIT_EXPORT_FAILED', `Cannot push ${name}: expected a tag, received a digest (a registry names pushed manifests by tag)`, { expected: 'repository:tag', received: name })
  const tag = parsed.tag ?? 'latest'
  const response = await dockerRequest(endpoint, `/images/${parsed.repository}/push`, {
    method: 'POST',
    query: { tag },
    headers: { 'X-Registry-Auth': encodeRegistryAuth(options.credentials, parsed.registry) },
    ...(options.signal ? { signal: options.signal } : {}),
  })
  if (response.status < 200 || response.status >= 300) throw apiError(endpoint, `push ${parsed.repository}:${tag}`, response.status, errorMessage(await readBody(response)))
  let digest: string | undefined
  let size: number | undefined
  for await (const message of jsonMessages(response.body)) {
    const error = typeof message.error === 'string' ? message.error : typeof (message.errorDetail as { message?: unknown } | undefined)?.message === 'string' ? String((message.errorDetail as { message: string }).message) : undefined
    if (error !== undefined) {
      response.body.destroy()
      const code = AUTH_FAILURE.test(error) ? 'BUILDKIT_AUTH' : 'BUILDKIT_EXPORT_FAILED'
      throw new EngineError(code, `Pushing ${parsed.repository}:${tag} to ${parsed.registry} failed: ${error}`, { address: endpoint.url, expected: 'a completed push', received: error })
    }
    const aux = message.aux as { Digest?: unknown; Size?: unknown; Tag?: unknown } | undefined
    if (aux && typeof aux.Digest === 'string' && (aux.Tag === undefined || aux.Tag === tag)) {
      digest = aux.Digest
      if (typeof aux.Size === 'number') size = aux.Size
    }
    if (options.onProgress && (typeof message.status === 'string' || typeof message.progress === 'string')) {
      options.onProgress({
        ...(typeof message.status === 'string' ? { status: message.status } : {}),
        ...(typeof message.id === 'string' ? { id: message.id } : {}),
        ...(typeof message.progress === 'string' ? { progress: message.progress } : {}),
      })
    }
  }
  if (digest === undefined) {
    throw new EngineError('BUILDKIT_EXPORT_FAILED', `Pushing ${parsed.repository}:${tag} to ${parsed.registry} ended without a manifest digest: expected an "aux" message with "Digest", received none`, {
      address: endpoint.url,
      expected: 'an aux message with Digest',
      received: 'none',
    })
  }
  return { name: `${parsed.repository}:${tag}`, digest, ...(size === undefined ? {} : { size }) }
}
