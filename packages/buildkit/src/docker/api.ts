/**
 * Plain Docker Engine API calls (HTTP/1.1 over the daemon's socket) for what BuildKit inside dockerd cannot do:
 * dockerd's embedded BuildKit has only the `moby`, `local` and `tar` exporters (wire doc 6.1, 13.5), so pushing an
 * image is the daemon's own `POST /images/{name}/push` after a `moby` export.
 */
import http from 'node:http'
import { EngineError } from '@kiln/core'
import type { EngineAddress } from '../address.js'

/** A Docker API endpoint: a unix socket or a TCP host and port (an engine address of kind `docker`). */
export type DockerEndpoint = Extract<EngineAddress, { kind: 'docker' }>

/** Options of {@link dockerRequest}. */
export interface DockerRequestOptions {
  method?: 'GET' | 'POST' | 'DELETE'
  /** Query parameters, encoded. */
  query?: Readonly<Record<string, string>>
  headers?: Readonly<Record<string, string>>
  body?: string
  signal?: AbortSignal
}

/** A response whose body is still streaming. */
export interface DockerResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: http.IncomingMessage
}

/** Sends one request to the Docker API and resolves once the response headers arrived. */
export function dockerRequest(endpoint: DockerEndpoint, path: string, options: DockerRequestOptions = {}): Promise<DockerResponse> {
  const query = options.query && Object.keys(options.query).length > 0 ? `?${new URLSearchParams(options.query as Record<string, string>).toString()}` : ''
  const target = 'socketPath' in endpoint ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        ...target,
        path: `${path}${query}`,
        method: options.method ?? 'GET',
        headers: { Host: 'docker', ...(options.body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(options.body) }), ...options.headers },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (response) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response }),
    )
    request.once('error', (error) => {
      if (options.signal?.aborted) reject(new EngineError('BUILDKIT_CANCELLED', `${options.method ?? 'GET'} ${path} on ${endpoint.url} was cancelled`, { address: endpoint.url, cause: error }))
      else reject(new EngineError('BUILDKIT_UNAVAILABLE', `Cannot reach the Docker API at ${endpoint.url}: ${error.message}`, { address: endpoint.url, cause: error }))
    })
    request.end(options.body)
  })
}

/** Reads a whole response body as text. */
export async function readBody(response: DockerResponse): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response.body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** The daemon's error message from a JSON error body (`{"message": "..."}`), or the text itself. */
export function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown }
    if (typeof parsed.message === 'string') return parsed.message
  } catch {
    // not JSON
  }
  return text.trim()
}

/** Sends a request and parses a JSON answer; a status outside 2xx is an `EngineError` carrying the daemon's message. */
export async function dockerJson<T>(endpoint: DockerEndpoint, path: string, options: DockerRequestOptions = {}): Promise<T> {
  const response = await dockerRequest(endpoint, path, options)
  const text = await readBody(response)
  if (response.status < 200 || response.status >= 300) throw apiError(endpoint, `${options.method ?? 'GET'} ${path}`, response.status, errorMessage(text))
  return (text.trim() === '' ? undefined : JSON.parse(text)) as T
}

/** An error for a failed API call: 401/403 are `BUILDKIT_AUTH`, 404 names the missing object, others `BUILDKIT_EXPORT_FAILED`. */
export function apiError(endpoint: DockerEndpoint, call: string, status: number, message: string): EngineError {
  const code = status === 401 || status === 403 ? 'BUILDKIT_AUTH' : 'BUILDKIT_EXPORT_FAILED'
  return new EngineError(code, `Docker API ${call} on ${endpoint.url} failed with HTTP ${status}: ${message}`, { address: endpoint.url, status, expected: 'HTTP 2xx', received: `HTTP ${status}` })
}

/**
 * Reads a Docker JSON message stream (the body of push, pull, tag-and-push calls): one JSON object per line.
 * Yields each object; a line that is not JSON is skipped (the daemon only writes JSON there).
 */
export async function* jsonMessages(body: AsyncIterable<Buffer | string>): AsyncGenerator<Record<string, unknown>> {
  let buffered = ''
  const parse = (line: string): Record<string, unknown> | undefined => {
    const trimmed = line.trim()
    if (trimmed === '') return undefined
    try {
      const value = JSON.parse(trimmed) as unknown
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
    } catch {
      return undefined
    }
  }
  for await (const chunk of body) {
    buffered += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    let newline = buffered.indexOf('\n')
    while (newline >= 0) {
      const message = parse(buffered.slice(0, newline))
      buffered = buffered.slice(newline + 1)
      if (message) yield message
      newline = buffered.indexOf('\n')
    }
  }
  const last = parse(buffered)
  if (last) yield last
}
