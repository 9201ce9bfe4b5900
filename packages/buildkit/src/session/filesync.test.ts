import { EventEmitter } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageDecoder } from '../grpc/framing.js'
import { fstypes } from '../proto.js'
import { DATA_CHUNK, sendDirectory, STATS_AHEAD } from './filesync.js'
import type { RawDuplex } from './stream.js'

/**
 * A stand-in for the session call whose connection writes only when the test says so (`deliver`), like an engine
 * whose flow-control window is full until it reads.
 */
class HeldCall extends EventEmitter {
  destroyed = false
  writableEnded = false
  bytesQueued = 0
  bytesWritten = 0
  readonly packets: fstypes.Packet[] = []
  private readonly decoder = new MessageDecoder()

  writeFramed(frames: Uint8Array): boolean {
    this.bytesQueued += frames.byteLength
    for (const message of this.decoder.push(Buffer.from(frames))) this.packets.push(fstypes.Packet.decode(message))
    return true
  }

  flush(): void {}

  send(parts: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const payload = Buffer.concat(parts instanceof Uint8Array ? [parts] : [...parts])
    const header = Buffer.alloc(5)
    header.writeUInt32BE(payload.length, 1)
    this.writeFramed(Buffer.concat([header, payload]))
    return Promise.resolve()
  }

  end(): void {
    this.writableEnded = true
  }

  /** Everything queued so far has gone out. */
  deliver(): void {
    this.bytesWritten = this.bytesQueued
    this.emit('written')
  }

  request(type: number, id = 0): void {
    this.emit('data', Buffer.from(fstypes.Packet.encode({ type, ID: id }).finish()))
  }

  stats(): fstypes.Packet[] {
    return this.packets.filter((packet) => packet.type === fstypes.Packet.PacketType.PACKET_STAT)
  }
}

const turns = async (count: number): Promise<void> => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Waits (up to 5 s) until `condition` holds, doing `step` between checks. */
const until = async (condition: () => boolean, step: () => void = () => undefined): Promise<void> => {
  const deadline = Date.now() + 5000
  while (!condition() && Date.now() < deadline) {
    step()
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

let dir: string
const FILES = 3000
const BIG = 3_000_000

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-filesync-'))
  for (let d = 0; d < 3; d++) {
    mkdirSync(join(dir, `d${d}`))
    for (let f = 0; f < FILES / 3; f++) writeFileSync(join(dir, `d${d}`, `f${String(f).padStart(4, '0')}`), `file ${d}/${f}\n`)
  }
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(BIG, 7))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('sendDirectory', () => {
  it('holds STATs and big files back while the connection lags, answers small-file requests at once, ends with the marker', async () => {
    const call = new HeldCall()
    const done = sendDirectory(call as unknown as RawDuplex, dir, {})
    await until(() => call.stats().length > 0)
    await turns(20)
    // One batch went to the call; the next waits until that batch has been written.
    const firstBatch = call.stats().length
    expect(firstBatch).toBeGreaterThan(0)
    expect(firstBatch).toBeLessThan(FILES)
    await turns(20)
    expect(call.stats().length).toBe(firstBatch)

    // A request for a file in that batch is answered although STATs are waiting.
    const id = call.stats().findIndex((packet) => packet.stat?.path === 'big.bin')
    const small = call.stats().findIndex((packet) => packet.stat?.path === 'd0/f0000')
    call.request(fstypes.Packet.PacketType.PACKET_REQ, small)
    await turns(5)
    const answers = call.packets.filter((packet) => packet.type === fstypes.Packet.PacketType.PACKET_DATA && packet.ID === small)
    expect(answers.map((packet) => Buffer.from(packet.data).toString())).toEqual(['file 0/0\n', ''])
    expect(call.stats().length).toBe(firstBatch)

    // Written: the walk goes on, batch by batch, and the end-of-stats marker comes after every entry.
    await until(
      () => call.stats().some((packet) => !packet.stat),
      () => call.deliver(),
    )
    const stats = call.stats()
    expect(stats.length).toBe(FILES + 3 + 1 + 1)
    expect(stats.at(-1)?.stat).toBeNull()
    expect(stats.slice(0, -1).every((packet) => packet.stat)).toBe(true)

    // The big file is streamed in chunks; then FIN ends the transfer.
    expect(id).toBeGreaterThanOrEqual(0)
    call.request(fstypes.Packet.PacketType.PACKET_REQ, id)
    const bigData = (): fstypes.Packet[] => call.packets.filter((packet) => packet.type === fstypes.Packet.PacketType.PACKET_DATA && packet.ID === id)
    const bigBytes = (): number => bigData().reduce((sum, packet) => sum + packet.data.length, 0)
    // While nothing is written, the file is read only a little ahead (about a megabyte, then a chunk).
    await until(() => bigBytes() > 0)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(bigBytes()).toBeLessThanOrEqual(1024 * 1024 + DATA_CHUNK)
    await until(
      () => bigData().at(-1)?.data.length === 0,
      () => call.deliver(),
    )
    const big = bigData()
    expect(big.at(-1)?.data.length).toBe(0)
    expect(bigBytes()).toBe(BIG)
    call.request(fstypes.Packet.PacketType.PACKET_FIN)
    await done
    expect(call.packets.at(-1)?.type).toBe(fstypes.Packet.PacketType.PACKET_FIN)
    expect(call.writableEnded).toBe(true)
  })

  it('sends STATs without waiting while the connection keeps up', async () => {
    const call = new HeldCall()
    // A connection that writes at once.
    call.writeFramed = function (frames: Uint8Array): boolean {
      HeldCall.prototype.writeFramed.call(this, frames)
      queueMicrotask(() => this.deliver())
      return true
    }
    const done = sendDirectory(call as unknown as RawDuplex, dir, {})
    await until(() => call.stats().some((packet) => !packet.stat))
    expect(call.stats().length).toBe(FILES + 5)
    call.request(fstypes.Packet.PacketType.PACKET_FIN)
    await done
  })

  it('keeps STATS_AHEAD below a batch of STATs', () => {
    // 512 STATs of short paths are about 30 KiB: at most one batch is ever queued ahead of the answers.
    expect(STATS_AHEAD).toBeLessThan(30 * 1024)
  })
})
