/** Helpers for the session's server calls, which carry raw protobuf bytes. */
import type { ServerCall } from '../grpc/server.js'

export type RawDuplex = ServerCall

/**
 * Writes one message. Messages written in one turn of the event loop go out in one HTTP/2 write; writers wait only
 * while more than a few MiB are not yet handed to the socket (HTTP/2 flow control pushes back through this).
 */
export function writeMessage(call: RawDuplex, message: Uint8Array | readonly Uint8Array[]): Promise<void> {
  return call.send(message)
}

/**
 * The values of a metadata key. Each repeated header field is its own value here (the session server reads the
 * raw header list, wire doc 1.4); `<key>-encoded: 1` means the values are URL-query-escaped (master, wire doc 5.2).
 */
export function metadataValues(call: { metadata: { get(key: string): (string | Buffer)[] } }, key: string): string[] {
  const out: string[] = []
  const encoded = call.metadata.get(`${key}-encoded`).some((value) => String(value) === '1')
  for (const value of call.metadata.get(key)) {
    const part = String(value)
    if (part === '') continue
    out.push(encoded ? decodeURIComponent(part.replace(/\+/g, ' ')) : part)
  }
  return out
}
