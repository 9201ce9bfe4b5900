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

  it('reads whole messages in place and keeps a partial one for the next chunk', () => {
    const decoder = new MessageDecoder()
    const stream = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.alloc(0)), frame(Buffer.from('three'))])
    const messages = decoder.push(stream.subarray(0, stream.length - 2))
    expect(messages.map(String)).toEqual(['one', ''])
    // Views into the chunk, not copies.
    expect(messages[0]?.buffer).toBe(stream.buffer)
    expect(decoder.pending).toBe(true)
    expect(decoder.push(stream.subarray(stream.length - 2)).map(String)).toEqual(['three'])
    expect(decoder.pending).toBe(false)
    expect(decoder.push(frame(Buffer.from('after'))).map(String)).toEqual(['after'])
  })

  it('refuses compressed messages', () => {
    expect(() => new MessageDecoder().push(Buffer.from([1, 0, 0, 0, 0]))).toThrow(/compressed/)
    expect(() => new MessageDecoder().push(Buffer.concat([frame(Buffer.from('ok')), Buffer.from([1, 0, 0, 0, 0])]))).toThrow(/compressed/)
  })
})
