/**
 * fsutil Packets (wire doc 5.1) encoded by hand, straight into gRPC frames.
 *
 * A file sync sends a STAT per entry and two DATA per small file: encoding them through protobufjs objects, one
 * buffer each, costs more than the rest of the sender together. Here many packets go into one growing buffer,
 * each behind its 5-byte gRPC prefix, and fields with zero values are left out as Go's encoder does (proto3).
 * The bytes decode to the same Packet with protobufjs (packets.test.ts).
 */

/** PacketType values (fsutil.types.Packet.PacketType). */
export const PacketType = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const

/** What a Stat carries (wire doc 5.1); uid and gid are always 0 for a local source. */
export interface StatFields {
  path: string
  mode: number
  size: number
  modTimeNs: bigint
  linkname?: string | undefined
  devmajor?: number | undefined
  devminor?: number | undefined
}

const MASK_32 = 0xffffffffn
const EMPTY = Buffer.alloc(0)

/** Builds gRPC frames (1 byte flag, 4 bytes length, payload) of Packets in one buffer. */
export class FrameBuilder {
  private buffer: Buffer
  private position = 0
  private nextCapacity = 0

  constructor(capacity = 4096) {
    this.buffer = Buffer.allocUnsafe(capacity)
  }

  get length(): number {
    return this.position
  }

  /**
   * The frames built so far; the builder starts over. Its next buffer is allocated on the next write, as big as
   * the last one was (up to 1 MiB): a builder used once costs one allocation.
   */
  take(): Buffer {
    const out = this.buffer.subarray(0, this.position)
    this.nextCapacity = Math.max(4096, Math.min(this.buffer.length, 1024 * 1024))
    this.buffer = EMPTY
    this.position = 0
    return out
  }

  private ensure(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.nextCapacity, this.position + bytes))
    this.buffer.copy(grown, 0, 0, this.position)
    this.buffer = grown
  }

  private varint32(value: number): void {
    const buffer = this.buffer
    let v = value >>> 0
    while (v > 127) {
      buffer[this.position++] = (v & 127) | 128
      v >>>= 7
    }
    buffer[this.position++] = v
  }

  /** A varint of a non-negative safe integer (sizes beyond 4 GiB). */
  private varintNumber(value: number): void {
    if (value <= 0xffffffff) {
      this.varint32(value)
      return
    }
    this.varint64(BigInt(value))
  }

  /** An int64 varint; negative values take ten bytes (two's complement), as in Go. */
  private varint64(value: bigint): void {
    const unsigned = BigInt.asUintN(64, value)
    let lo = Number(unsigned & MASK_32)
    let hi = Number(unsigned >> 32n)
    const buffer = this.buffer
    while (hi !== 0) {
      buffer[this.position++] = (lo & 127) | 128
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    while (lo > 127) {
      buffer[this.position++] = (lo & 127) | 128
      lo >>>= 7
    }
    buffer[this.position++] = lo
  }

  private string(field: number, value: string): void {
    const length = Buffer.byteLength(value)
    this.ensure(length + 16)
    this.buffer[this.position++] = (field << 3) | 2
    this.varint32(length)
    this.position += this.buffer.write(value, this.position, 'utf8')
  }

  /** Starts a message: reserves its prefix. Returns where it starts. */
  private begin(): number {
    this.ensure(64)
    const start = this.position
    this.buffer[start] = 0
    this.position += 5
    return start
  }

  /** Writes the payload length into the prefix reserved by `begin`. */
  private end(start: number): void {
    this.buffer.writeUInt32BE(this.position - start - 5, start + 1)
  }

  /** A STAT packet (type STAT is 0, so only the stat field is written). */
  stat(stat: StatFields): void {
    const start = this.begin()
    // The Stat message is written after room for its length (at most 3 varint bytes: a Stat is far below 2 MiB),
    // then moved down if the length took fewer bytes.
    this.buffer[this.position++] = (2 << 3) | 2
    const lengthAt = this.position
    this.position += 3
    const body = this.position
    this.string(1, stat.path)
    this.ensure(64)
    if (stat.mode !== 0) {
      this.buffer[this.position++] = 2 << 3
      this.varint32(stat.mode)
    }
    if (stat.size !== 0) {
      this.buffer[this.position++] = 5 << 3
      this.varintNumber(stat.size)
    }
    if (stat.modTimeNs !== 0n) {
      this.buffer[this.position++] = 6 << 3
      this.varint64(stat.modTimeNs)
    }
    if (stat.linkname) this.string(7, stat.linkname)
    this.ensure(32)
    if (stat.devmajor) {
      this.buffer[this.position++] = 8 << 3
      this.varintNumber(stat.devmajor)
    }
    if (stat.devminor) {
      this.buffer[this.position++] = 9 << 3
      this.varintNumber(stat.devminor)
    }
    const length = this.position - body
    const lengthBytes = length < 128 ? 1 : length < 16384 ? 2 : 3
    if (lengthBytes < 3) this.buffer.copy(this.buffer, lengthAt + lengthBytes, body, this.position)
    this.position -= 3 - lengthBytes
    const after = this.position
    this.position = lengthAt
    this.varint32(length)
    this.position = after
    this.end(start)
  }

  /** The STAT packet without a stat that ends the stats. */
  endOfStats(): void {
    this.end(this.begin())
  }

  /** A DATA packet with `data` (empty: the end of that file). */
  data(id: number, data: Uint8Array): void {
    this.ensure(data.byteLength + 32)
    const start = this.begin()
    this.header(PacketType.DATA, id, data.byteLength)
    this.buffer.set(data, this.position)
    this.position += data.byteLength
    this.end(start)
  }

  /** A DATA packet with the first `length` bytes of `source` (copied; `source` can be reused at once). */
  dataFrom(id: number, source: Buffer, length: number): void {
    this.ensure(length + 32)
    const start = this.begin()
    this.header(PacketType.DATA, id, length)
    source.copy(this.buffer, this.position, 0, length)
    this.position += length
    this.end(start)
  }

  /** The empty DATA packet that ends a file. */
  endOfData(id: number): void {
    const start = this.begin()
    this.header(PacketType.DATA, id, 0)
    this.end(start)
  }

  /** A packet with only a type (FIN), or with text data (ERR). */
  control(type: number, text?: string): void {
    const start = this.begin()
    this.buffer[this.position++] = 1 << 3
    this.varint32(type)
    if (text) this.string(4, text)
    this.end(start)
  }

  /** Type, ID and the data field's tag and length: everything of a DATA packet before its bytes. */
  private header(type: number, id: number, dataLength: number): void {
    this.buffer[this.position++] = 1 << 3
    this.varint32(type)
    if (id !== 0) {
      this.buffer[this.position++] = 3 << 3
      this.varint32(id)
    }
    if (dataLength > 0) {
      this.buffer[this.position++] = (4 << 3) | 2
      this.varint32(dataLength)
    }
  }

  /** The Packet bytes of a DATA packet up to (not including) its data: to send a big chunk without copying it. */
  static dataHeader(id: number, dataLength: number): Buffer {
    const builder = new FrameBuilder(32)
    builder.header(PacketType.DATA, id, dataLength)
    return builder.take()
  }
}

/** The fields of an incoming Packet a sender needs: type, ID and data (the stat is skipped). */
export interface IncomingPacket {
  type: number
  id: number
  data: Buffer | undefined
}

// Decoder state for readVarint (no closure per packet: the engine sends one REQ per requested file).
let decodeAt = 0

function readVarint(message: Buffer): number {
  let result = 0
  let shift = 0
  for (;;) {
    if (decodeAt >= message.length) throw new Error('truncated packet')
    const byte = message[decodeAt++] as number
    if (shift < 28) result |= (byte & 127) << shift
    else if (shift < 53) result += (byte & 127) * 2 ** shift
    if (byte < 128) return shift < 28 ? result >>> 0 : result
    shift += 7
    if (shift > 63) throw new Error('malformed varint in packet')
  }
}

/** Decodes the type, ID and data of a Packet; throws on malformed bytes. */
export function decodePacket(message: Buffer): IncomingPacket {
  decodeAt = 0
  const packet: IncomingPacket = { type: 0, id: 0, data: undefined }
  while (decodeAt < message.length) {
    const tag = readVarint(message)
    const field = tag >>> 3
    const wire = tag & 7
    if (wire === 0) {
      const value = readVarint(message)
      if (field === 1) packet.type = value
      else if (field === 3) packet.id = value >>> 0
    } else if (wire === 2) {
      const length = readVarint(message)
      if (decodeAt + length > message.length) throw new Error('truncated packet')
      if (field === 4) packet.data = message.subarray(decodeAt, decodeAt + length)
      decodeAt += length
    } else if (wire === 1) decodeAt += 8
    else if (wire === 5) decodeAt += 4
    else throw new Error(`unsupported wire type ${wire} in packet`)
  }
  return packet
}
