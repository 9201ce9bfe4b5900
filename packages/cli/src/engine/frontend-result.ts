import type { ImageConfig, Platform } from '@kiln/core'
import { fromDefinition, type State } from '@kiln/llb'

/**
 * A gateway Result ref's `def` (the LLB a frontend produced) as an llb State: later ops build on it and marshal it
 * with the rest of the run's graph, so its steps run in the run's solves, with its local sources served by the run's
 * session. llb's `fromDefinition` keeps every op's exact bytes and refuses one it cannot re-encode unchanged.
 */
export function definitionState(bytes: Uint8Array, engine: string): State {
  return fromDefinition(bytes, { origin: `the frontend's LLB from ${engine}` })
}

/** The image config and platform in a frontend's `containerimage.config` metadata (an OCI image config, JSON). */
export function frontendImageConfig(bytes: Uint8Array): { config: ImageConfig; platform?: Platform } {
  const image = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>
  const config = (image.config ?? {}) as Record<string, unknown>
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined)
  const out: { -readonly [K in keyof ImageConfig]: ImageConfig[K] } = {}
  const env = strings(config.Env)
  if (env) out.env = env
  if (typeof config.WorkingDir === 'string' && config.WorkingDir) out.workingDir = config.WorkingDir
  if (typeof config.User === 'string' && config.User) out.user = config.User
  const entrypoint = strings(config.Entrypoint)
  if (entrypoint) out.entrypoint = entrypoint
  const cmd = strings(config.Cmd)
  if (cmd) out.cmd = cmd
  if (config.Labels && typeof config.Labels === 'object') out.labels = { ...(config.Labels as Record<string, string>) }
  if (config.ExposedPorts && typeof config.ExposedPorts === 'object') out.exposedPorts = Object.keys(config.ExposedPorts)
  if (config.Volumes && typeof config.Volumes === 'object') out.volumes = Object.keys(config.Volumes)
  if (typeof config.StopSignal === 'string' && config.StopSignal) out.stopSignal = config.StopSignal
  const os = typeof image.os === 'string' ? image.os : undefined
  const architecture = typeof image.architecture === 'string' ? image.architecture : undefined
  const variant = typeof image.variant === 'string' && image.variant ? image.variant : undefined
  return { config: out, ...(os && architecture ? { platform: { os, architecture, ...(variant ? { variant } : {}) } } : {}) }
}
