import { describe, expect, it } from 'vitest'
import { frame, MessageDecoder } from './framing.js'

describe('gRPC framing', () => {
  it('reassembles messages cut anywhere', () => {
    const messages = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('last')]
    const stream = Buffer.concat(messages.map(frame))
    for (const size of [1, 3, 5, 4096, stream.length]) {
      const decoder = new MessageDecoder()
      const out: Buffer[] = []
      for (let offset = 0; offset < stream.length; offset += size) out.push(...decoder.push(stream.subarray(offset, offset + size)))
      expect(out.map((message) => message.toString('hex'))).toEqual(messages.map((message) => message.toString('hex')))
      expect(decoder.pending).toBe(false)
    }
  })

  it('refuses compressed messages', () => {
    expect(() => new MessageDecoder().push(Buffer.from([1, 0, 0, 0, 0]))).toThrow(/compressed/)
  })
})
