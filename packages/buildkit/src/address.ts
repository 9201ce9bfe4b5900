/**
 * Engine addresses: parsing and the resolution order.
 */
import { BuildkitError } from './errors.js'

/** The project's own engine (scripts/engine.sh start current), the last resort of the resolution order. */
export const PROJECT_ENGINE_SOCKET = '/run/kiln/current/docker.sock'

export interface TlsOptions {
  /** CA certificate (PEM) or a path to it. */
  ca?: string | Buffer
  /** Client certificate (PEM) or a path to it. */
  cert?: string | Buffer
  /** Client key (PEM) or a path to it. */
  key?: string | Buffer
  /** TLS server name (also the HTTP/2 :authority), like buildctl's --tlsservername. */
  serverName?: string
}

export type EngineAddress =
  /** dockerd's built-in BuildKit over the Docker API socket (`/grpc` and `/session` upgrades). */
  | { kind: 'docker'; url: string; socketPath: string }
  | { kind: 'docker'; url: string; host: string; port: number }
  /** A standalone buildkitd on a unix socket (h2c prior knowledge). */
  | { kind: 'unix'; url: string; socketPath: string }
  /** A standalone buildkitd on TCP: h2c, or TLS when `tls` is set. */
  | { kind: 'tcp'; url: string; host: string; port: number; tls?: TlsOptions }
  /** A buildkitd inside a container, reached through `docker exec -i NAME buildctl dial-stdio`. */
  | { kind: 'docker-container'; url: string; container: string; context?: string }

export interface AddressSource {
  /** The address as given. */
  address: string
  /** Where it came from: `option`, `KILN_ENGINE`, `BUILDKIT_HOST`, `DOCKER_HOST` or `default`. */
  from: 'option' | 'KILN_ENGINE' | 'BUILDKIT_HOST' | 'DOCKER_HOST' | 'default'
}

/**
 * Picks the engine address: the explicit option, then KILN_ENGINE, BUILDKIT_HOST, DOCKER_HOST (a Docker API
 * address, so `unix://` and `tcp://` there mean dockerd), then the project engine socket.
 */
export function resolveEngineAddress(explicit?: string, env: NodeJS.ProcessEnv = process.env, tls?: TlsOptions): EngineAddress & AddressSource {
  const pick = (): AddressSource => {
    if (explicit) return { address: explicit, from: 'option' }
    if (env.KILN_ENGINE) return { address: env.KILN_ENGINE, from: 'KILN_ENGINE' }
    if (env.BUILDKIT_HOST) return { address: env.BUILDKIT_HOST, from: 'BUILDKIT_HOST' }
    if (env.DOCKER_HOST) return { address: env.DOCKER_HOST, from: 'DOCKER_HOST' }
    return { address: `docker://${PROJECT_ENGINE_SOCKET}`, from: 'default' }
  }
  const source = pick()
  const parsed = source.from === 'DOCKER_HOST' ? parseDockerHost(source.address) : parseEngineAddress(source.address, tls)
  return { ...parsed, ...source }
}

function invalid(address: string, why: string): BuildkitError {
  return new BuildkitError(
    'BUILDKIT_INVALID_ADDRESS',
    `Invalid engine address ${JSON.stringify(address)}: ${why}. Expected unix:///path, tcp://host:port, docker://[/path/to/docker.sock] or docker-container://NAME.`,
    { address },
  )
}

function hostPort(address: string, rest: string): { host: string; port: number } {
  const match = /^\[?([^\]/]*?)\]?:(\d+)\/?$/.exec(rest)
  if (!match?.[1]) throw invalid(address, 'a host and a port are required')
  return { host: match[1], port: Number(match[2]) }
}

/** Parses a Kiln/BuildKit engine address. */
export function parseEngineAddress(address: string, tls?: TlsOptions): EngineAddress {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(address)
  if (!scheme) throw invalid(address, 'no scheme')
  const [, name = '', rest = ''] = scheme
  switch (name.toLowerCase()) {
    case 'unix':
      if (!rest.startsWith('/')) throw invalid(address, 'unix:// needs an absolute socket path (unix:///run/buildkit/buildkitd.sock)')
      return { kind: 'unix', url: address, socketPath: rest }
    case 'tcp': {
      const { host, port } = hostPort(address, rest)
      return tls ? { kind: 'tcp', url: address, host, port, tls } : { kind: 'tcp', url: address, host, port }
    }
    case 'docker': {
      if (rest === '' || rest === '/') return { kind: 'docker', url: address, socketPath: '/var/run/docker.sock' }
      if (rest.startsWith('/')) return { kind: 'docker', url: address, socketPath: rest }
      const { host, port } = hostPort(address, rest)
      return { kind: 'docker', url: address, host, port }
    }
    case 'docker-container': {
      const [container = '', query = ''] = rest.split('?', 2)
      if (!container) throw invalid(address, 'a container name is required')
      const context = new URLSearchParams(query).get('context') ?? undefined
      return context ? { kind: 'docker-container', url: address, container, context } : { kind: 'docker-container', url: address, container }
    }
    default:
      throw invalid(address, `unknown scheme ${name}`)
  }
}

/** Parses DOCKER_HOST (a Docker API address) into a docker engine address. */
export function parseDockerHost(value: string): EngineAddress {
  if (value.startsWith('unix://')) return { kind: 'docker', url: `docker://${value.slice('unix://'.length)}`, socketPath: value.slice('unix://'.length) }
  if (value.startsWith('tcp://')) {
    const { host, port } = hostPort(value, value.slice('tcp://'.length))
    return { kind: 'docker', url: `docker://${host}:${port}`, host, port }
  }
  if (value.startsWith('/')) return { kind: 'docker', url: `docker://${value}`, socketPath: value }
  return parseEngineAddress(value)
}
