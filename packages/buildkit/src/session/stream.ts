/** Helpers for grpc-js server streams carrying raw protobuf bytes. */
import type { ServerDuplexStream } from '@grpc/grpc-js'

export type RawDuplex = ServerDuplexStream<Buffer, Buffer>

/** Writes one message, waiting for 'drain' when the stream buffers too much (HTTP/2 flow control). */
export function writeMessage(call: RawDuplex, message: Uint8Array): Promise<void> {
  if (call.destroyed || call.writableEnded) return Promise.reject(new Error('the stream is closed'))
  if (call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength))) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      call.off('drain', onDrain)
      call.off('close', onClose)
      call.off('cancelled', onClose)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error('the stream closed while writing'))
    }
    call.on('drain', onDrain)
    call.on('close', onClose)
    call.on('cancelled', onClose)
  })
}

/** Repeated metadata values: grpc-js joins repeated header fields with ", " (wire doc 1.5), so split them again. */
export function metadataValues(call: { metadata: { get(key: string): (string | Buffer)[] } }, key: string): string[] {
  const out: string[] = []
  const encoded = call.metadata.get(`${key}-encoded`).some((value) => String(value) === '1')
  for (const value of call.metadata.get(key)) {
    for (const part of String(value).split(', ')) {
      if (part === '') continue
      out.push(encoded ? decodeURIComponent(part.replace(/\+/g, ' ')) : part)
    }
  }
  return out
}
