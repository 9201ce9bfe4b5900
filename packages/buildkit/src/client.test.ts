import { afterEach, describe, expect, it, vi } from 'vitest'
import { Gateway } from './client.js'
import { BuildkitError } from './errors.js'
import type { GrpcChannel } from './grpc/channel.js'
import { gateway as gatewayPB } from './proto.js'

/** A channel whose first `failures` Pings fail the way an engine does before the build is registered. */
function pingChannel(failures: number, error = 'no such job abc'): { channel: GrpcChannel; calls: () => number } {
  let calls = 0
  const channel = {
    unary: (method: string) => {
      expect(method).toBe('/moby.buildkit.v1.frontend.LLBBridge/Ping')
      calls++
      if (calls <= failures) return Promise.reject(new BuildkitError('BUILDKIT_RPC', error))
      return Promise.resolve(Buffer.from(gatewayPB.PongResponse.encode({ LLBCaps: [{ ID: 'source.local', Enabled: true }] }).finish()))
    },
  } as unknown as GrpcChannel
  return { channel, calls: () => calls }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Gateway.waitReady', () => {
  it('retries a build that is not registered yet after 2, 4, 8 … ms (at most 50) and resolves with the Pong', async () => {
    vi.useFakeTimers()
    const { channel, calls } = pingChannel(7)
    const gateway = new Gateway(channel, 'ref', new AbortController().signal)
    let pong: gatewayPB.PongResponse | undefined
    const ready = gateway.waitReady().then((answer) => (pong = answer))
    await vi.advanceTimersByTimeAsync(0)
    expect(calls()).toBe(1)
    await vi.advanceTimersByTimeAsync(2)
    expect(calls()).toBe(2)
    await vi.advanceTimersByTimeAsync(4 + 8 - 1)
    expect(calls()).toBe(3)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls()).toBe(4)
    // 16, 32, then capped at 50.
    await vi.advanceTimersByTimeAsync(16 + 32 + 50 - 1)
    expect(calls()).toBe(6)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls()).toBe(7)
    await vi.advanceTimersByTimeAsync(50)
    await ready
    expect(calls()).toBe(8)
    expect(pong?.LLBCaps?.[0]?.ID).toBe('source.local')
    expect(gateway.readyPong).toBe(pong)
  })

  it('does not retry other errors', async () => {
    const { channel, calls } = pingChannel(1, 'permission denied')
    const gateway = new Gateway(channel, 'ref', new AbortController().signal)
    await expect(gateway.waitReady()).rejects.toThrow(/permission denied/)
    expect(calls()).toBe(1)
    expect(gateway.readyPong).toBeUndefined()
  })
})
