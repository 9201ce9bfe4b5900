/**
 * A small protobuf codec driven by the table in `schema.ts`, written for byte equality with Go's deterministic
 * marshal (buildkit-wire.md §3.1): fields in ascending number order, proto3 defaults omitted, oneof members always
 * written, set sub-messages written even when empty, map entries sorted by key with key and value always written,
 * negative integers as 10-byte varints, packed repeated numerics.
 */
import { messageDesc, type FieldDesc, type MessageDesc, type ScalarKind } from './schema.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const TWO_32 = 4294967296

/** Appends protobuf wire data to a growable buffer. */
export class Writer {
  private buffer = new Uint8Array(256)
  private position = 0

  private ensure(extra: number): void {
    const needed = this.position + extra
    if (needed <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < needed) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buffer.subarray(0, this.position))
    this.buffer = next
  }

  /** An unsigned varint of a value below 2^32. */
  uint32(value: number): void {
    this.ensure(5)
    let v = value >>> 0
    while (v > 127) {
      this.buffer[this.position++] = (v & 127) | 128
      v >>>= 7
    }
    this.buffer[this.position++] = v
  }

  /** A varint of a 64-bit two's complement value given as low and high 32-bit words. */
  private varint64(low: number, high: number): void {
    this.ensure(10)
    let lo = low >>> 0
    let hi = high >>> 0
    while (hi > 0 || lo > 127) {
      this.buffer[this.position++] = (lo & 127) | 128
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    this.buffer[this.position++] = lo
  }

  /** A signed 64-bit integer (int64/int32/enum): negative values take 10 bytes. */
  int64(value: number | bigint): void {
    if (typeof value === 'bigint') {
      const unsigned = BigInt.asUintN(64, value)
      this.varint64(Number(unsigned & 0xffffffffn), Number(unsigned >> 32n))
      return
    }
    if (value >= 0 && value < TWO_32) {
      this.uint32(value)
      return
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`pb: ${value} is not a safe integer; pass a bigint`)
    const high = Math.floor(value / TWO_32)
    this.varint64(value - high * TWO_32, high)
  }

  tag(field: number, wireType: number): void {
    this.uint32((field << 3) | wireType)
  }

  bytes(data: Uint8Array): void {
    this.uint32(data.length)
    this.ensure(data.length)
    this.buffer.set(data, this.position)
    this.position += data.length
  }

  string(value: string): void {
    // A UTF-8 string takes at most 3 bytes per UTF-16 unit; write it in place, then fix the length prefix.
    if (value.length < 43) {
      this.ensure(1 + value.length * 3)
      const start = this.position++
      const { written } = encoder.encodeInto(value, this.buffer.subarray(this.position))
      this.buffer[start] = written
      this.position += written
      return
    }
    this.bytes(encoder.encode(value))
  }

  /** Writes a length-delimited sub-message produced by `body`. */
  message(body: () => void): void {
    this.ensure(1)
    const start = this.position++
    body()
    const length = this.position - start - 1
    if (length < 128) {
      this.buffer[start] = length
      return
    }
    let size = 1
    for (let v = length >>> 7; v > 0; v >>>= 7) size++
    this.ensure(size - 1)
    this.buffer.copyWithin(start + size, start + 1, this.position)
    this.position += size - 1
    const end = this.position
    this.position = start
    this.uint32(length)
    this.position = end
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.position)
  }
}

function isDefault(kind: ScalarKind, value: unknown): boolean {
  switch (kind) {
    case 'string': return value === ''
    case 'bytes': return (value as Uint8Array).length === 0
    case 'bool': return value === false
    default: return value === 0 || value === 0n
  }
}

function wireType(kind: ScalarKind | 'message' | 'map'): number {
  return kind === 'string' || kind === 'bytes' || kind === 'message' || kind === 'map' ? 2 : 0
}

function writeScalar(writer: Writer, kind: ScalarKind, value: unknown): void {
  switch (kind) {
    case 'string': writer.string(value as string); break
    case 'bytes': writer.bytes(value as Uint8Array); break
    case 'bool': writer.uint32(value ? 1 : 0); break
    case 'uint32': writer.uint32(value as number); break
    default: writer.int64(value as number | bigint)
  }
}

function writeField(writer: Writer, field: FieldDesc, value: unknown): void {
  if (value === undefined || value === null) return
  const { kind } = field
  if (kind === 'map') {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record).sort(compareBytes)
    for (const key of keys) {
      writer.tag(field.no, 2)
      writer.message(() => {
        writer.tag(1, 2)
        writer.string(key)
        const entry = record[key]
        if (field.mapValue === 'message') {
          writer.tag(2, 2)
          writer.message(() => encodeInto(writer, messageDesc(field.type as string), entry as object))
        } else {
          const valueKind = field.mapValue as ScalarKind
          writer.tag(2, wireType(valueKind))
          writeScalar(writer, valueKind, entry)
        }
      })
    }
    return
  }
  if (field.repeated) {
    const items = value as unknown[]
    if (items.length === 0) return
    if (kind === 'message') {
      const desc = messageDesc(field.type as string)
      for (const item of items) {
        writer.tag(field.no, 2)
        writer.message(() => encodeInto(writer, desc, item as object))
      }
    } else if (kind === 'string' || kind === 'bytes') {
      for (const item of items) {
        writer.tag(field.no, 2)
        writeScalar(writer, kind, item)
      }
    } else {
      writer.tag(field.no, 2)
      writer.message(() => {
        for (const item of items) writeScalar(writer, kind, item)
      })
    }
    return
  }
  if (kind === 'message') {
    writer.tag(field.no, 2)
    writer.message(() => encodeInto(writer, messageDesc(field.type as string), value as object))
    return
  }
  if (field.oneof === undefined && isDefault(kind, value)) return
  writer.tag(field.no, wireType(kind))
  writeScalar(writer, kind, value)
}

/** Go's string order: bytewise on UTF-8, which for these keys equals UTF-16 code unit order except surrogates. */
function compareBytes(a: string, b: string): number {
  if (a === b) return 0
  const ba = encoder.encode(a)
  const bb = encoder.encode(b)
  const n = Math.min(ba.length, bb.length)
  for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return (ba[i] as number) - (bb[i] as number)
  return ba.length - bb.length
}

function encodeInto(writer: Writer, desc: MessageDesc, value: object): void {
  const record = value as Record<string, unknown>
  for (const field of desc.fields) writeField(writer, field, record[field.prop])
}

/** Serializes `value` as the message `type` (e.g. `'Op'`, `'Definition'`) with Go's deterministic rules. */
export function encode(type: string, value: object): Uint8Array {
  const writer = new Writer()
  encodeInto(writer, messageDesc(type), value)
  return writer.finish()
}

/** Reads protobuf wire data. Throws `RangeError` on truncated or malformed input. */
export class Reader {
  position = 0
  constructor(readonly buffer: Uint8Array, readonly end = buffer.length) {}

  private byte(): number {
    if (this.position >= this.end) throw new RangeError('pb: unexpected end of message')
    return this.buffer[this.position++] as number
  }

  /** A varint as low/high 32-bit words. */
  varint(): [number, number] {
    let lo = 0
    let hi = 0
    let shift = 0
    for (let i = 0; i < 10; i++) {
      const b = this.byte()
      if (shift < 28) lo |= (b & 127) << shift
      else if (shift === 28) {
        lo |= (b & 15) << 28
        hi |= (b & 127) >>> 4
      } else hi |= (b & 127) << (shift - 32)
      shift += 7
      if (b < 128) return [lo >>> 0, hi >>> 0]
    }
    throw new RangeError('pb: varint longer than 10 bytes')
  }

  uint32(): number {
    return this.varint()[0]
  }

  /** A signed 64-bit value: a number when safe, else a bigint. */
  int64(): number | bigint {
    const [lo, hi] = this.varint()
    if (hi & 0x80000000) {
      const value = (hi - TWO_32) * TWO_32 + lo
      return Number.isSafeInteger(value) ? value : BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))
    }
    const value = hi * TWO_32 + lo
    return Number.isSafeInteger(value) ? value : (BigInt(hi) << 32n) | BigInt(lo)
  }

  uint64(): number | bigint {
    const [lo, hi] = this.varint()
    const value = hi * TWO_32 + lo
    return Number.isSafeInteger(value) ? value : (BigInt(hi) << 32n) | BigInt(lo)
  }

  bytes(): Uint8Array {
    const length = this.uint32()
    if (this.position + length > this.end) throw new RangeError('pb: length-delimited field runs past the end')
    const data = this.buffer.subarray(this.position, this.position + length)
    this.position += length
    return data
  }

  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint(); break
      case 1: this.position += 8; break
      case 2: this.bytes(); break
      case 5: this.position += 4; break
      default: throw new RangeError(`pb: unsupported wire type ${wire}`)
    }
    if (this.position > this.end) throw new RangeError('pb: unexpected end of message')
  }
}

function readScalar(reader: Reader, kind: ScalarKind): unknown {
  switch (kind) {
    case 'string': return decoder.decode(reader.bytes())
    case 'bytes': return reader.bytes().slice()
    case 'bool': return reader.uint32() !== 0
    case 'uint32': return reader.uint32()
    case 'uint64': return reader.uint64()
    case 'int32':
    case 'enum': return Number(reader.int64())
    default: return reader.int64()
  }
}

function decodeFrom(reader: Reader, desc: MessageDesc): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  while (reader.position < reader.end) {
    const tag = reader.uint32()
    const no = tag >>> 3
    const wire = tag & 7
    const field = desc.byNo.get(no)
    if (!field || (wire !== wireType(field.kind) && !(field.repeated && wire === 2))) {
      reader.skip(wire)
      continue
    }
    if (field.kind === 'map') {
      const entry = subReader(reader)
      let key = ''
      let value: unknown = field.mapValue === 'message' ? {} : defaultScalar(field.mapValue as ScalarKind)
      while (entry.position < entry.end) {
        const entryTag = entry.uint32()
        if (entryTag >>> 3 === 1 && (entryTag & 7) === 2) key = readScalar(entry, 'string') as string
        else if (entryTag >>> 3 === 2) {
          value = field.mapValue === 'message'
            ? decodeFrom(subReader(entry), messageDesc(field.type as string))
            : readScalar(entry, field.mapValue as ScalarKind)
        } else entry.skip(entryTag & 7)
      }
      const map = (out[field.prop] ??= Object.create(null)) as Record<string, unknown>
      map[key] = value
      continue
    }
    if (field.kind === 'message') {
      const value = decodeFrom(subReader(reader), messageDesc(field.type as string))
      if (field.repeated) ((out[field.prop] ??= []) as unknown[]).push(value)
      else out[field.prop] = value
      continue
    }
    if (field.repeated) {
      const items = (out[field.prop] ??= []) as unknown[]
      if (wire === 2 && field.kind !== 'string' && field.kind !== 'bytes') {
        const packed = subReader(reader)
        while (packed.position < packed.end) items.push(readScalar(packed, field.kind))
      } else items.push(readScalar(reader, field.kind))
      continue
    }
    out[field.prop] = readScalar(reader, field.kind)
  }
  return out
}

function defaultScalar(kind: ScalarKind): unknown {
  switch (kind) {
    case 'string': return ''
    case 'bytes': return new Uint8Array()
    case 'bool': return false
    default: return 0
  }
}

function subReader(reader: Reader): Reader {
  const length = reader.uint32()
  const start = reader.position
  if (start + length > reader.end) throw new RangeError('pb: sub-message runs past the end')
  reader.position += length
  const sub = new Reader(reader.buffer, start + length)
  sub.position = start
  return sub
}

/** Parses bytes as the message `type`. Only fields present on the wire are set on the result. */
export function decode<T = Record<string, unknown>>(type: string, bytes: Uint8Array): T {
  return decodeFrom(new Reader(bytes), messageDesc(type)) as T
}
