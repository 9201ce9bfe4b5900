/**
 * The one place where every Definition is checked before it leaves the client.
 *
 * A dangling input digest kills dockerd 26.1 outright (BuildKit 0.11 to 0.16, wire doc 13.1), so the client
 * refuses such a graph itself, whoever built it (raw bytes too). @kiln/llb's `validateDefinition` decodes the
 * Definition and checks it as the engine would (inputs name ops, the terminal op, exec and file op shapes, the
 * 4 MiB request limit); its errors are reported here as BUILDKIT_INVALID_DEFINITION.
 */
import { createHash } from 'node:crypto'
import { isLlbError, validateDefinition } from '@kiln/llb'
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
 * Checks a serialized pb.Definition before it is sent. Throws BUILDKIT_INVALID_DEFINITION when it does not decode,
 * when an input digest names no op of the definition, or when the engine would refuse it while loading.
 */
export function checkDefinition(definition: Uint8Array): void {
  try {
    validateDefinition(definition)
  } catch (error) {
    if (!isLlbError(error)) throw error
    throw new BuildkitError('BUILDKIT_INVALID_DEFINITION', `Refusing to send the Definition: ${error.message}`, { cause: error })
  }
}
