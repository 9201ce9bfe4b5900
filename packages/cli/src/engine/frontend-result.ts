import { fromOciImageConfig, type ImageConfig, type Platform } from '@kiln/core'
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
  return fromOciImageConfig(JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>)
}
