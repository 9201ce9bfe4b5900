import { isStateLike, type ImageConfig, type StateLike } from '@kiln/core'
import { isState, type ImageConfig as OciImageConfig, type State } from '@kiln/llb'

/** An artifact's state as an llb `State` (artifacts carry core's opaque `StateLike`). */
export function toState(state: StateLike, what: string): State {
  if (!isState(state)) throw new TypeError(`Expected ${what} to be an LLB State from @kiln/llb, received ${state === null ? 'null' : typeof state}`)
  return state
}

/** An llb `State` as core's `StateLike` (the same registered brand, checked at run time). */
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
  }
}
