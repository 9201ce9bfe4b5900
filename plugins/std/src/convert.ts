import { isStateLike, type ImageConfig, type Platform, type StateLike } from '@kiln/core'
import { isState, parsePlatform, type ImageConfig as OciImageConfig, type State } from '@kiln/llb'

/**
 * An artifact's state as an llb `State`. Artifacts carry states as core's opaque `StateLike`; at run time every one
 * is an llb `State` (from any copy of @kiln/llb), which `isState` checks by its registered brand.
 */
export function toState(state: StateLike, what: string): State {
  // isState only checks the brand, which core's testing fakes carry too: also ask for the State API.
  if (!isState(state) || typeof (state as { run?: unknown }).run !== 'function' || typeof (state as { marshal?: unknown }).marshal !== 'function') {
    throw new TypeError(`Expected ${what} to be an LLB State from @kiln/llb, received ${state === null ? 'null' : typeof state}`)
  }
  return state
}

/**
 * An llb `State` as core's `StateLike`. The brand is the same registered symbol (`Symbol.for('kiln.llb.state')`),
 * but TypeScript sees two different `unique symbol` types, so the check is made at run time.
 */
export function toStateLike(state: State): StateLike {
  if (!isStateLike(state)) throw new TypeError('Expected an llb State to carry the kiln.llb.state marker')
  return state
}

/** core's lower-camel image config → the OCI field names llb uses. */
export function toOciConfig(config: ImageConfig): OciImageConfig {
  return {
    ...(config.env === undefined ? {} : { Env: [...config.env] }),
    ...(config.workingDir === undefined ? {} : { WorkingDir: config.workingDir }),
    ...(config.user === undefined ? {} : { User: config.user }),
    ...(config.entrypoint === undefined ? {} : { Entrypoint: [...config.entrypoint] }),
    ...(config.cmd === undefined ? {} : { Cmd: [...config.cmd] }),
    ...(config.labels === undefined ? {} : { Labels: { ...config.labels } }),
    ...(config.exposedPorts === undefined ? {} : { ExposedPorts: Object.fromEntries(config.exposedPorts.map((port) => [port, {}])) }),
    ...(config.volumes === undefined ? {} : { Volumes: Object.fromEntries(config.volumes.map((volume) => [volume, {}])) }),
    ...(config.stopSignal === undefined ? {} : { StopSignal: config.stopSignal }),
  }
}

/** A platform string (`linux/arm64/v8`) as core's {@link Platform}. */
export function toPlatform(value: string): Platform {
  const parsed = parsePlatform(value)
  return { os: parsed.os, architecture: parsed.architecture, ...(parsed.variant === undefined ? {} : { variant: parsed.variant }) }
}
