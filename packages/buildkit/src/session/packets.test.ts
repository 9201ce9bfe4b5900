import { describe, expect, it } from 'vitest'
import { MessageDecoder } from '../grpc/framing.js'
import { fromBigInt, fstypes } from '../proto.js'
import { GoMode } from './filemode.js'
import { decodePacket, FrameBuilder, PacketType } from './packets.js'

function packets(frames: Buffer): fstypes.Packet[] {
  const decoder = new MessageDecoder()
  const messages = decoder.push(frames)
  expect(decoder.pending).toBe(false)
  return messages.map((message) => fstypes.Packet.decode(message))
}

describe('FrameBuilder', () => {
  it('encodes STAT packets that protobufjs decodes to the same stat', () => {
    const frames = new FrameBuilder(8)
    const long = 'd/'.repeat(200) + 'ü name'
    frames.stat({ path: 'a/b.txt', mode: 0o644, size: 12, modTimeNs: 1_764_370_000_123_456_789n })
    frames.stat({ path: 'dir', mode: (GoMode.Dir | 0o755) >>> 0, size: 0, modTimeNs: 0n })
    frames.stat({ path: long, mode: (GoMode.Symlink | 0o777) >>> 0, size: 6, modTimeNs: -1_000_000_001n, linkname: 'target' })
    frames.stat({ path: 'dev', mode: (GoMode.Device | GoMode.CharDevice | 0o600) >>> 0, size: 0, modTimeNs: 5n, devmajor: 1, devminor: 3 })
    frames.stat({ path: 'huge', mode: 0o600, size: 6 * 1024 ** 3, modTimeNs: 1n })
    frames.endOfStats()
    const [file, dir, link, dev, huge, end] = packets(frames.take())
    expect(file?.type).toBe(fstypes.Packet.PacketType.PACKET_STAT)
    expect(file?.stat?.path).toBe('a/b.txt')
    expect(file?.stat?.mode).toBe(0o644)
    expect(String(file?.stat?.size)).toBe('12')
    expect(file?.stat?.uid).toBe(0)
    expect(dir?.stat?.mode).toBe((GoMode.Dir | 0o755) >>> 0)
    expect(link?.stat?.path).toBe(long)
    expect(link?.stat?.linkname).toBe('target')
    expect(String(dev?.stat?.devmajor)).toBe('1')
    expect(String(dev?.stat?.devminor)).toBe('3')
    expect(String(huge?.stat?.size)).toBe(String(6 * 1024 ** 3))
    expect(end?.type).toBe(fstypes.Packet.PacketType.PACKET_STAT)
    expect(end?.stat).toBeNull()
  })

  it('writes the bytes protobufjs writes for the same non-zero fields (nanosecond times exactly, negative ones too)', () => {
    for (const modTimeNs of [1_764_370_000_123_456_789n, -1_000_000_001n, 1n, 2n ** 63n - 1n]) {
      const frames = new FrameBuilder()
      frames.stat({ path: 'a/ü', mode: (GoMode.Symlink | 0o777) >>> 0, size: 3, modTimeNs, linkname: 'x/y' })
      const [message] = new MessageDecoder().push(frames.take())
      const expected = fstypes.Packet.encode({ stat: { path: 'a/ü', mode: (GoMode.Symlink | 0o777) >>> 0, size: 3, modTime: fromBigInt(modTimeNs), linkname: 'x/y' } }).finish()
      expect(message?.toString('hex')).toBe(Buffer.from(expected).toString('hex'))
    }
  })

  it('encodes DATA, FIN and ERR packets', () => {
    const frames = new FrameBuilder(4)
    frames.data(7, Buffer.from('hello'))
    frames.data(7, Buffer.alloc(0))
    frames.data(0, Buffer.from('x'))
    frames.data(300_000, Buffer.alloc(200, 1))
    frames.control(PacketType.FIN)
    frames.control(PacketType.ERR, 'it broke')
    const [data, end, zero, wide, fin, err] = packets(frames.take())
    expect(data?.type).toBe(fstypes.Packet.PacketType.PACKET_DATA)
    expect(data?.ID).toBe(7)
    expect(Buffer.from(data?.data ?? []).toString()).toBe('hello')
    expect(end?.ID).toBe(7)
    expect(end?.data.length).toBe(0)
    expect(zero?.ID).toBe(0)
    expect(Buffer.from(zero?.data ?? []).toString()).toBe('x')
    expect(wide?.ID).toBe(300_000)
    expect(wide?.data.length).toBe(200)
    expect(fin?.type).toBe(fstypes.Packet.PacketType.PACKET_FIN)
    expect(err?.type).toBe(fstypes.Packet.PacketType.PACKET_ERR)
    expect(Buffer.from(err?.data ?? []).toString()).toBe('it broke')
  })

  it('copies DATA from part of a reused buffer, with the same bytes as data() and endOfData()', () => {
    const scratch = Buffer.from('hello, and more bytes after')
    const copied = new FrameBuilder(4)
    copied.dataFrom(300_000, scratch, 5)
    copied.endOfData(300_000)
    scratch.fill(0)
    const reference = new FrameBuilder(4)
    reference.data(300_000, Buffer.from('hello'))
    reference.data(300_000, Buffer.alloc(0))
    const bytes = copied.take()
    expect(bytes.toString('hex')).toBe(reference.take().toString('hex'))
    const [data, end] = packets(bytes)
    expect(Buffer.from(data?.data ?? []).toString()).toBe('hello')
    expect(end?.data.length).toBe(0)
  })

  it('starts over after take() without touching the bytes it handed out', () => {
    const frames = new FrameBuilder(16)
    frames.data(1, Buffer.alloc(100, 1))
    const first = frames.take()
    expect(frames.length).toBe(0)
    frames.data(2, Buffer.alloc(50, 2))
    const second = frames.take()
    expect(packets(first).map((packet) => packet.ID)).toEqual([1])
    expect(packets(second).map((packet) => packet.ID)).toEqual([2])
    expect(frames.take().length).toBe(0)
  })

  it('builds a DATA header that precedes the chunk it describes', () => {
    const chunk = Buffer.alloc(70_000, 2)
    const message = Buffer.concat([FrameBuilder.dataHeader(9, chunk.length), chunk])
    const packet = fstypes.Packet.decode(message)
    expect(packet.ID).toBe(9)
    expect(packet.data.length).toBe(chunk.length)
  })
})

describe('decodePacket', () => {
  it('reads type, ID and data of packets encoded by protobufjs, skipping the stat', () => {
    const encode = (packet: fstypes.Packet.$Properties): Buffer => Buffer.from(fstypes.Packet.encode(packet).finish())
    expect(decodePacket(encode({ type: fstypes.Packet.PacketType.PACKET_REQ, ID: 4_000_000_000 }))).toMatchObject({ type: PacketType.REQ, id: 4_000_000_000 })
    expect(decodePacket(encode({ type: fstypes.Packet.PacketType.PACKET_FIN }))).toMatchObject({ type: PacketType.FIN, id: 0 })
    const err = decodePacket(encode({ type: fstypes.Packet.PacketType.PACKET_ERR, data: Buffer.from('context canceled') }))
    expect(err.data?.toString()).toBe('context canceled')
    expect(decodePacket(encode({ type: fstypes.Packet.PacketType.PACKET_STAT, stat: { path: 'x', mode: 1 }, ID: 3 }))).toMatchObject({ type: PacketType.STAT, id: 3 })
  })

  it('refuses truncated packets', () => {
    expect(() => decodePacket(Buffer.from([0x08]))).toThrow(/truncated/)
    expect(() => decodePacket(Buffer.from([0x22, 0x05, 0x01]))).toThrow(/truncated/)
    // A failure leaves nothing behind for the next packet.
    expect(decodePacket(Buffer.from(fstypes.Packet.encode({ type: fstypes.Packet.PacketType.PACKET_REQ, ID: 5 }).finish()))).toMatchObject({ type: PacketType.REQ, id: 5 })
  })
})
