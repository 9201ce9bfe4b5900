import { describe, expect, it } from 'vitest'
import { EarlyConnection } from './early.js'

const connection = () => {
  const state = { opened: 0, closed: 0 }
  const early = new EarlyConnection(async () => {
    state.opened += 1
    return { close: () => void (state.closed += 1) }
  })
  return { early, state }
}

describe('EarlyConnection', () => {
  it('opens once when started, and the taker gets that connection', async () => {
    const { early, state } = connection()
    early.start()
    early.start()
    await early.take()
    expect(state).toEqual({ opened: 1, closed: 0 })
    await early.release()
    expect(state.closed).toBe(0)
  })

  it('opens on take without start, and closes a connection nobody took', async () => {
    const { early, state } = connection()
    await early.take()
    expect(state.opened).toBe(1)
    early.start()
    await early.release()
    expect(state).toEqual({ opened: 2, closed: 1 })
  })

  it('keeps a failure for the taker without an unhandled rejection', async () => {
    const early = new EarlyConnection<{ close(): void }>(async () => {
      throw new Error('no engine')
    })
    early.start()
    await new Promise((resolve) => setTimeout(resolve, 10))
    await expect(early.take()).rejects.toThrow('no engine')
  })
})
