/**
 * A small protobuf codec driven by the table in `schema.ts`, written for byte equality with Go's deterministic
 * marshal (buildkit-wire.md §3.1): fields in ascending number order, proto3 defaults omitted, oneof members always
 * written, set sub-messages written even when empty, map entries sorted by key with key and value always written,
 * negative integers as 10-byte varints, packed repeated numerics.
 */
import { messageDesc, type MessageDesc, type ScalarKind } from './schema.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const TWO_32 = 4294967296
const LONG_ASCII = 24
const ASCII = /^[^\u0080-\uffff]*$/
const SHA256_PREFIX = new TextEncoder().encode('sha256:')

interface NodeBuffer extends Uint8Array {
  latin1Write(value: string, offset: number, length: number): number
}

function nativeView(bytes: Uint8Array): NodeBuffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as NodeBuffer
}

/** Appends protobuf wire data to a growable buffer. */
export class Writer {
  private buffer: Uint8Array
  /** The same memory as a Node Buffer, for its native `latin1Write` (long ASCII strings such as digests). */
  private native: NodeBuffer
  position = 0
  /** Set by {@link Writer.exact}. */
  private exact = false

  constructor(size = 1024) {
    this.buffer = new Uint8Array(size)
    this.native = nativeView(this.buffer)
  }

  private ensure(extra: number): void {
    const needed = this.position + extra
    if (needed <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < needed) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buffer.subarray(0, this.position))
    this.buffer = next
    this.native = nativeView(next)
  }

  /**
   * @internal Writes on at `position` of `buffer` (whose Node view is `native`): direct op writers write straight
   * into the shared op slab. See {@link startOp}.
   */
  attach(buffer: Uint8Array, native: NodeBuffer, position: number): void {
    this.buffer = buffer
    this.native = native
    this.position = position
  }

  /** @internal The buffer being written (a new one once the writer had to grow). */
  get target(): Uint8Array {
    return this.buffer
  }

  /** Starts again, keeping the buffer. */
  reset(): void {
    this.position = 0
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
    if (value === -1) {
      // The common negative value (no input, no output, unset mode or timestamp): 9 × 0xff, 0x01.
      this.ensure(10)
      const buffer = this.buffer
      let position = this.position
      for (let i = 0; i < 9; i++) buffer[position++] = 0xff
      buffer[position++] = 0x01
      this.position = position
      return
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`pb: ${value} is not a safe integer; pass a bigint`)
    const high = Math.floor(value / TWO_32)
    this.varint64(value - high * TWO_32, high)
  }

  tag(field: number, wireType: number): void {
    this.uint32((field << 3) | wireType)
  }

  /** A length-prefixed `sha256:<hex>` digest, from its 64 hex digits (ASCII). */
  digest(hex: string): void {
    this.ensure(72)
    const buffer = this.buffer
    let position = this.position
    buffer[position++] = 7 + hex.length
    for (let i = 0; i < 7; i++) buffer[position++] = SHA256_PREFIX[i] as number
    this.native.latin1Write(hex, position, hex.length)
    this.position = position + hex.length
  }

  /** A few raw bytes (a pre-encoded template), copied by a loop: cheaper than `set` for short runs. */
  raw(data: Uint8Array): void {
    const length = data.length
    this.ensure(length)
    const buffer = this.buffer
    let position = this.position
    for (let i = 0; i < length; i++) buffer[position++] = data[i] as number
    this.position = position
  }

  /** `length` raw bytes from `offset` of `source` (no length prefix). */
  copy(source: ArrayBufferLike, offset: number, length: number): void {
    this.ensure(length)
    this.buffer.set(new Uint8Array(source, offset, length), this.position)
    this.position += length
  }

  bytes(data: Uint8Array): void {
    this.uint32(data.length)
    this.ensure(data.length)
    this.buffer.set(data, this.position)
    this.position += data.length
  }

  /** A length-prefixed UTF-8 string, encoded in place (at most 3 bytes per UTF-16 unit). */
  string(value: string): void {
    const length = value.length
    if (length >= LONG_ASCII && length < 128 && ASCII.test(value)) {
      // One native copy instead of a charCodeAt loop; the regexp check is cheaper than the loop it replaces.
      this.ensure(1 + length)
      this.buffer[this.position] = length
      this.native.latin1Write(value, this.position + 1, length)
      this.position += 1 + length
      return
    }
    if (length < 128) {
      // ASCII is the common case (paths, digests, cap ids): copy code units without a TextEncoder call.
      this.ensure(1 + length * 3)
      const buffer = this.buffer
      let position = this.position + 1
      let i = 0
      for (; i < length; i++) {
        const code = value.charCodeAt(i)
        if (code >= 128) break
        buffer[position++] = code
      }
      if (i === length) {
        buffer[this.position] = length
        this.position = position
        return
      }
    }
    const max = length * 3
    if (max < 128) {
      this.ensure(1 + max)
      const start = this.position++
      const { written } = encoder.encodeInto(value, this.buffer.subarray(this.position))
      this.buffer[start] = written
      this.position += written
      return
    }
    const start = this.begin()
    this.ensure(max)
    this.position += encoder.encodeInto(value, this.buffer.subarray(this.position)).written
    this.end(start)
  }

  /** Reserves one byte for the length of a length-delimited value; returns where it starts. */
  begin(): number {
    this.ensure(1)
    return this.position++
  }

  /** Writes the length of the value begun at `start`, moving it right when the length needs more bytes. */
  end(start: number): void {
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

  /** The bytes written so far, as a view into the buffer (valid until the next write). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.position)
  }

  /** A copy of the bytes written so far (the buffer itself when it was sized exactly and filled). */
  finish(): Uint8Array {
    return this.position === this.buffer.length && this.exact ? this.buffer : this.buffer.slice(0, this.position)
  }

  /** A writer for exactly `size` bytes whose {@link finish} hands over its buffer without a copy. */
  static exact(size: number): Writer {
    const writer = new Writer(size)
    writer.exact = true
    return writer
  }
}

function wireType(kind: ScalarKind | 'message' | 'map'): number {
  return kind === 'string' || kind === 'bytes' || kind === 'message' || kind === 'map' ? 2 : 0
}

const SURROGATE = /[\uD800-\uDFFF]/

/** Sorts map keys in Go's order; the default sort (UTF-16 code units) already is, unless a key has a surrogate. */
function sortKeys(keys: string[]): void {
  for (const key of keys) {
    if (SURROGATE.test(key)) {
      keys.sort(compareBytes)
      return
    }
  }
  keys.sort()
}

/**
 * Go's string order: bytewise on UTF-8. UTF-16 code unit order is the same except for surrogate pairs, so only
 * strings that hold one pay for an encode.
 */
function compareBytes(a: string, b: string): number {
  if (a === b) return 0
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1
  const ba = encoder.encode(a)
  const bb = encoder.encode(b)
  const n = Math.min(ba.length, bb.length)
  for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return (ba[i] as number) - (bb[i] as number)
  return ba.length - bb.length
}

type MessageEncoder = (writer: Writer, value: object) => void

const encoders = new Map<string, MessageEncoder>()

function scalarWrite(kind: ScalarKind, expression: string): string {
  switch (kind) {
    case 'string': return `w.string(${expression})`
    case 'bytes': return `w.bytes(${expression})`
    case 'bool': return `w.uint32(${expression} ? 1 : 0)`
    case 'uint32': return `w.uint32(${expression})`
    default: return `w.int64(${expression})`
  }
}

function defaultTest(kind: ScalarKind, expression: string): string {
  switch (kind) {
    case 'string': return `${expression} !== ''`
    case 'bytes': return `${expression}.length !== 0`
    case 'bool': return `${expression} !== false`
    default: return `${expression} !== 0 && ${expression} !== 0n`
  }
}

/**
 * Compiles the table entry of a message into a straight-line encoder: constant property names keep V8's inline
 * caches monomorphic and tags are precomputed, which makes marshal several times faster than walking the table.
 * The generated code is derived only from the static table in schema.ts.
 */
function compileEncoder(desc: MessageDesc): MessageEncoder {
  const lines: string[] = ['let x, s, i, k, keys']
  for (const field of desc.fields) {
    const prop = JSON.stringify(field.prop)
    const lengthTag = (field.no << 3) | 2
    const tag = (field.no << 3) | wireType(field.kind)
    lines.push(`x = v[${prop}]`)
    if (field.kind === 'map') {
      const valueWrite = field.mapValue === 'message'
        ? `w.uint32(18); s2 = w.begin(); E(${JSON.stringify(field.type)})(w, e); w.end(s2)`
        : `w.uint32(${(2 << 3) | wireType(field.mapValue as ScalarKind)}); ${scalarWrite(field.mapValue as ScalarKind, 'e')}`
      lines.push(`if (x != null) { keys = Object.keys(x); if (keys.length > 1) sortKeys(keys); for (i = 0; i < keys.length; i++) { k = keys[i]; const e = x[k]; let s2; w.uint32(${lengthTag}); s = w.begin(); w.uint32(10); w.string(k); ${valueWrite}; w.end(s) } }`)
    } else if (field.repeated && field.kind === 'message') {
      lines.push(`if (x != null) { const enc = E(${JSON.stringify(field.type)}); for (i = 0; i < x.length; i++) { w.uint32(${lengthTag}); s = w.begin(); enc(w, x[i]); w.end(s) } }`)
    } else if (field.repeated && (field.kind === 'string' || field.kind === 'bytes')) {
      lines.push(`if (x != null) for (i = 0; i < x.length; i++) { w.uint32(${lengthTag}); ${scalarWrite(field.kind, 'x[i]')} }`)
    } else if (field.repeated) {
      lines.push(`if (x != null && x.length > 0) { w.uint32(${lengthTag}); s = w.begin(); for (i = 0; i < x.length; i++) ${scalarWrite(field.kind as ScalarKind, 'x[i]')}; w.end(s) }`)
    } else if (field.kind === 'message') {
      lines.push(`if (x != null) { w.uint32(${lengthTag}); s = w.begin(); E(${JSON.stringify(field.type)})(w, x); w.end(s) }`)
    } else if (field.oneof !== undefined) {
      lines.push(`if (x != null) { w.uint32(${tag}); ${scalarWrite(field.kind as ScalarKind, 'x')} }`)
    } else {
      lines.push(`if (x != null && ${defaultTest(field.kind as ScalarKind, 'x')}) { w.uint32(${tag}); ${scalarWrite(field.kind as ScalarKind, 'x')} }`)
    }
  }
  const factory = new Function('E', 'sortKeys', `return function encode_${desc.name}(w, v) {\n${lines.join('\n')}\n}`) as (
    lookup: (name: string) => MessageEncoder,
    sort: (keys: string[]) => void,
  ) => MessageEncoder
  return factory(encoderFor, sortKeys)
}

function encoderFor(name: string): MessageEncoder {
  let encoder = encoders.get(name)
  if (!encoder) {
    encoder = compileEncoder(messageDesc(name))
    encoders.set(name, encoder)
  }
  return encoder
}

/** @internal The compiled encoder of message `type` (fields only: no tag, no length), for direct op writers. */
/** An int64/int32/enum field, omitted when 0 (negative values take 10 bytes), as the compiled encoders write it. */
export function writeInt(w: Writer, tag: number, value: number | bigint): void {
  if (value !== 0 && value !== 0n) {
    w.uint32(tag)
    w.int64(value)
  }
}

/** A bool field as the compiled encoders write it: omitted when unset or false. */
export function writeBool(w: Writer, tag: number, value: boolean | undefined): void {
  if (value != null && value !== false) {
    w.uint32(tag)
    w.uint32(value ? 1 : 0)
  }
}

/** A string field, omitted when empty. */
export function writeString(w: Writer, tag: number, value: string): void {
  if (value !== '') {
    w.uint32(tag)
    w.string(value)
  }
}

export function messageEncoder(type: string): (writer: Writer, value: object) => void {
  return encoderFor(messageDesc(type).name)
}

function encodeInto(writer: Writer, desc: MessageDesc, value: object): void {
  encoderFor(desc.name)(writer, value)
}

/** @internal Appends the fields of `value` as message `type` to a writer (no tag, no length). */
export function encodeMessage(writer: Writer, type: string, value: object): void {
  encoderFor(type)(writer, value)
}

const scratchWriter = new Writer(64 * 1024)

/** Serializes `value` as the message `type` (e.g. `'Op'`, `'Definition'`) with Go's deterministic rules. */
export function encode(type: string, value: object): Uint8Array {
  scratchWriter.reset()
  encodeInto(scratchWriter, messageDesc(type), value)
  return scratchWriter.finish()
}

const SLAB_SIZE = 256 * 1024
let slab = new Uint8Array(SLAB_SIZE)
let slabUsed = 0
const opDesc = () => messageDesc('Op')

/**
 * @internal Serializes an Op for marshal. Small results are views into shared 256 KiB slabs (never reused), which
 * saves one ArrayBuffer per op; do not rely on `.buffer` or `.byteOffset` of the result.
 */
export function encodeOp(value: object): Uint8Array {
  scratchWriter.reset()
  encodeInto(scratchWriter, opDesc(), value)
  return sealOp(scratchWriter)
}

let slabNative = nativeView(slab)
let opStart = 0
/** Whether the last op of {@link takeOp} sits in the slab right after its `Definition.def` header. */
let framed = false
/** Room kept before an op for its `Definition.def` header: the tag and a length below 2^21. */
const FRAME = 4

/** @internal Points `writer` at the free part of the shared op slab, for one op; {@link takeOp} returns it. */
export function startOp(writer: Writer): void {
  if (SLAB_SIZE - slabUsed < SLAB_SIZE / 8) {
    slab = new Uint8Array(SLAB_SIZE)
    slabNative = nativeView(slab)
    slabUsed = 0
  }
  opStart = slabUsed
  writer.attach(slab, slabNative, slabUsed + FRAME)
}

/**
 * @internal The op written since {@link startOp}: a view into the slab, or its own copy if it outgrew the slab.
 * In the slab the op is preceded by its `Definition.def` header (`0a <length>`), so ops written one after another
 * are a run of `def` entries that the Definition copies at once (see {@link lastOpFramed}).
 */
export function takeOp(writer: Writer): Uint8Array {
  const buffer = writer.target
  const begin = opStart + FRAME
  const end = writer.position
  framed = false
  if (buffer !== slab) return buffer.slice(begin, end)
  const length = end - begin
  let header = 2
  for (let v = length >>> 7; v > 0; v >>>= 7) header++
  if (header > FRAME) {
    slabUsed = end
    return slab.subarray(begin, end)
  }
  const at = opStart + header
  if (at !== begin) slab.copyWithin(at, begin, end)
  slab[opStart] = 0x0a
  let position = opStart + 1
  let v = length
  while (v > 127) {
    slab[position++] = (v & 127) | 128
    v >>>= 7
  }
  slab[position] = v
  framed = true
  slabUsed = at + length
  return slab.subarray(at, slabUsed)
}

/** @internal Whether the op last returned by {@link takeOp} is framed: `0a <length>` right before it. */
export function lastOpFramed(): boolean {
  return framed
}

/** @internal The bytes written to `writer` (an op), copied like {@link encodeOp}'s result. */
export function sealOp(writer: Writer): Uint8Array {
  const bytes = writer.view()
  if (bytes.length > SLAB_SIZE / 8) return bytes.slice()
  if (slabUsed + bytes.length > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE)
    slabNative = nativeView(slab)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + bytes.length)
  out.set(bytes)
  slabUsed += bytes.length
  return out
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
            ? decodeFrom(subReader(entry), field.typeDesc as MessageDesc)
            : readScalar(entry, field.mapValue as ScalarKind)
        } else entry.skip(entryTag & 7)
      }
      const map = (out[field.prop] ??= Object.create(null)) as Record<string, unknown>
      map[key] = value
      continue
    }
    if (field.kind === 'message') {
      const value = decodeFrom(subReader(reader), field.typeDesc as MessageDesc)
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
