/** Kiln's side of one context transfer, shared by run.ts and profile.ts. */
import { connect } from '../../packages/buildkit/src/index.js'
import * as llb from '../../packages/buildkit/test/helpers/llb.js'

export interface Transfer {
  /** The whole solve, as a caller sees it (connecting and the session not included). */
  ms: number
  /** The engine's own measure: the "transferring" status item from its start to its end, as docker build prints it. */
  transferMs: number
}

/**
 * Connects to `address`, opens a session with `dir` as the local source "context" under `sharedKey`, and solves a
 * Definition of just that source. `during.start` runs right before the solve and `during.stop` right after it, so
 * samplers (memory, CPU, event-loop lag) see the transfer and nothing else.
 */
export async function transferContext(address: string, dir: string, sharedKey: string, during: { start?(): void; stop?(): void } = {}): Promise<Transfer> {
  const client = await connect({ address })
  const session = await client.createSession({ dirs: { context: dir }, sharedKey })
  // A fresh local.unique makes the source op new, so the engine syncs (incrementally when the key is known).
  const local = llb.local('context', { 'local.unique': session.id, 'local.sharedkeyhint': 'context' })
  let transferMs = 0
  during.start?.()
  const started = Date.now()
  try {
    await client.solve({
      definition: llb.definition([local], local),
      session,
      onEvent: (event) => {
        if (event.type === 'status' && event.id.startsWith('transferring') && event.started && event.completed) {
          transferMs = Math.max(transferMs, event.completed.getTime() - event.started.getTime())
        }
      },
    })
  } finally {
    during.stop?.()
  }
  const ms = Date.now() - started
  await session.close()
  client.close()
  return { ms, transferMs }
}
