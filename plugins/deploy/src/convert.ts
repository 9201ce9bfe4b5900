import { isStateLike, toOciImageConfig, type ImageConfig, type OciImageConfig, type StateLike } from '@kiln/core'
import { assertState, type State } from '@kiln/llb'

/** An artifact's state as an llb `State` (artifacts carry core's opaque `StateLike`); llb's `assertState` checks it. */
export function toState(state: StateLike, what: string): State {
  return assertState(state, what)
}

/** An llb `State` as core's `StateLike` (the same registered brand, checked at run time). */
export function toStateLike(state: State): StateLike {
  if (!isStateLike(state)) throw new TypeError('Expected an llb State to carry the kiln.llb.state marker')
  return state
}

/** core's lower-camel image config → the OCI field names llb uses. */
export const toOciConfig: (config: ImageConfig) => OciImageConfig = toOciImageConfig
