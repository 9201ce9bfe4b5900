/**
 * The one place where every Definition is checked before it leaves the client.
 *
 * A dangling input digest kills dockerd 26.1 outright (BuildKit 0.11 to 0.16, wire doc 13.1), so the client
 * refuses such a graph itself, whoever built it. This reads only what the check needs from the serialized
 * pb.Definition: the op bytes (field 1) and, inside each op, the input digests (Op.inputs = 1, Input.digest = 1).
 * @kiln/llb's `validateDefinition` performs the same check; this copy keeps the client safe for raw bytes and for
 * Definitions from any other emitter.
 */
import { createHash } from 'node:crypto'
import { BuildkitError } from './errors.js'

class Reader {
  pos = 0
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.bytes.length
  }
  varint(): number {
    let result = 0
    let shift = 0
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error('truncated varint')
      const byte = this.bytes[this.pos++] as number
      if (shift < 49) result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
      if (shift > 63) throw new Error('varint too long')
    }
  }
  /** Reads one field; returns its number and, for length-delimited fields, the bytes. */
  field(): { number: number; bytes?: Uint8Array } {
    const key = this.varint()
    const number = Math.floor(key / 8)
    switch (key & 7) {
      case 0:
        this.varint()
        return { number }
      case 1:
        this.skip(8)
        return { number }
      case 5:
        this.skip(4)
        return { number }
      case 2: {
        const length = this.varint()
        const start = this.pos
        this.skip(length)
        return { number, bytes: this.bytes.subarray(start, start + length) }
      }
      default:
        throw new Error(`unsupported wire type ${key & 7}`)
    }
  }
  private skip(length: number): void {
    if (this.pos + length > this.bytes.length) throw new Error('truncated field')
    this.pos += length
  }
}

function invalid(message: string): BuildkitError {
  return new BuildkitError('BUILDKIT_INVALID_DEFINITION', message)
}

/** The op digests of a serialized Definition, in order. */
export function definitionDigests(definition: Uint8Array): string[] {
  const reader = new Reader(definition)
  const out: string[] = []
  while (!reader.done) {
    const field = reader.field()
    if (field.number === 1 && field.bytes) out.push(`sha256:${createHash('sha256').update(field.bytes).digest('hex')}`)
  }
  return out
}

/**
 * Checks a serialized pb.Definition: it must decode, and every input digest of every op must name an op of the
 * definition. Throws BUILDKIT_INVALID_DEFINITION otherwise.
 */
export function checkDefinition(definition: Uint8Array): void {
  const ops: Uint8Array[] = []
  try {
    const reader = new Reader(definition)
    while (!reader.done) {
      const field = reader.field()
      if (field.number === 1) {
        if (!field.bytes) throw new Error('Definition.def must be bytes')
        ops.push(field.bytes)
      }
    }
  } catch (error) {
    throw invalid(`the Definition does not decode: ${(error as Error).message}`)
  }
  const digests = new Set(ops.map((op) => `sha256:${createHash('sha256').update(op).digest('hex')}`))
  ops.forEach((op, index) => {
    try {
      const reader = new Reader(op)
      while (!reader.done) {
        const field = reader.field()
        if (field.number !== 1 || !field.bytes) continue
        const input = new Reader(field.bytes)
        let digest = ''
        while (!input.done) {
          const inner = input.field()
          if (inner.number === 1 && inner.bytes) digest = Buffer.from(inner.bytes).toString('utf8')
        }
        if (!digests.has(digest)) {
          throw invalid(`op ${index} of the Definition has input ${digest || '(empty)'}, which is not an op of the Definition; refusing to send it (a dangling input crashes dockerd 26.1)`)
        }
      }
    } catch (error) {
      if (error instanceof BuildkitError) throw error
      throw invalid(`op ${index} of the Definition does not decode: ${(error as Error).message}`)
    }
  })
}
