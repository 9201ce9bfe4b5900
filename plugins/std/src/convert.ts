import { isStateLike, toOciImageConfig, type ImageConfig, type OciImageConfig, type Platform, type StateLike } from '@kiln/core'
import { assertState, parsePlatform, type State } from '@kiln/llb'

/**
 * An artifact's state as an llb `State`. Artifacts carry states as core's opaque `StateLike`; at run time every one
 * is an llb `State` (from any copy of @kiln/llb), which llb's `assertState` checks (brand and API).
 */
export function toState(state: StateLike, what: string): State {
  return assertState(state, what)
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
export const toOciConfig: (config: ImageConfig) => OciImageConfig = toOciImageConfig

/** A platform string (`linux/arm64/v8`) as core's {@link Platform}. */
export function toPlatform(value: string): Platform {
  const parsed = parsePlatform(value)
  return { os: parsed.os, architecture: parsed.architecture, ...(parsed.variant === undefined ? {} : { variant: parsed.variant }) }
}
