/**
 * gRPC length-prefixed message framing (1 byte compressed flag, 4 byte big-endian length, payload).
 */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  out.set(message, 5)
  return out
}

/** Splits a byte stream into gRPC messages; chunks may cut messages anywhere. */
export class MessageDecoder {
  private chunks: Buffer[] = []
  private buffered = 0
  private need = -1

  /** Feeds a chunk and returns the complete messages it finished. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = []
    // The usual case: nothing left over from earlier chunks, so whole messages are read in place (one view per
    // message, no header copies). A session receives thousands of tiny messages, often one or a few per chunk.
    let offset = 0
    if (this.buffered === 0 && this.need < 0) {
      while (chunk.length - offset >= 5) {
        if (chunk[offset] !== 0) throw new Error('compressed gRPC messages are not supported')
        const length = chunk.readUInt32BE(offset + 1)
        if (chunk.length - offset - 5 < length) break
        out.push(chunk.subarray(offset + 5, offset + 5 + length))
        offset += 5 + length
      }
      if (offset === chunk.length) return out
      chunk = offset === 0 ? chunk : chunk.subarray(offset)
    }
    this.chunks.push(chunk)
    this.buffered += chunk.length
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 5) break
        const header = this.take(5)
        if (header[0] !== 0) throw new Error('compressed gRPC messages are not supported')
        this.need = header.readUInt32BE(1)
      }
      if (this.buffered < this.need) break
      out.push(this.take(this.need))
      this.need = -1
    }
    return out
  }

  /** True when a message is partially buffered (a stream that ends now was truncated). */
  get pending(): boolean {
    return this.buffered > 0 || this.need >= 0
  }

  private take(length: number): Buffer {
    if (length === 0) return Buffer.alloc(0)
    const first = this.chunks[0]
    if (first && first.length >= length) {
      const out = first.subarray(0, length)
      if (first.length === length) this.chunks.shift()
      else this.chunks[0] = first.subarray(length)
      this.buffered -= length
      return out
    }
    const all = Buffer.concat(this.chunks, this.buffered)
    const out = all.subarray(0, length)
    const rest = all.subarray(length)
    this.chunks = rest.length > 0 ? [rest] : []
    this.buffered = rest.length
    return out
  }
}
