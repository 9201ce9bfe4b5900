/** Helpers for grpc-js server streams carrying raw protobuf bytes. */
import type { ServerDuplexStream } from '@grpc/grpc-js'

export type RawDuplex = ServerDuplexStream<Buffer, Buffer>

/** Bytes a call may have in flight before writers wait (HTTP/2 flow control pushes back through this). */
const HIGH_WATER = 8 * 1024 * 1024
const LOW_WATER = 2 * 1024 * 1024

interface WriterState {
  outstanding: number
  waiters: { resolve: () => void; reject: (error: Error) => void }[]
  closed: Error | undefined
}

const writers = new WeakMap<RawDuplex, WriterState>()

function writerState(call: RawDuplex): WriterState {
  const state = writers.get(call)
  if (state) return state
  const created: WriterState = { outstanding: 0, waiters: [], closed: undefined }
  const close = (): void => {
    created.closed ??= new Error('the stream closed while writing')
    for (const waiter of created.waiters.splice(0)) waiter.reject(created.closed)
  }
  call.once('close', close)
  call.once('cancelled', close)
  writers.set(call, created)
  return created
}

/**
 * Writes one message. grpc-js streams are object streams whose buffer holds 16 messages, and waiting for 'drain'
 * every 16 small messages costs a round of I/O each time (seconds over 20 000 file entries). Back-pressure is
 * applied on bytes instead: writers wait only while more than HIGH_WATER bytes are not yet handed to HTTP/2.
 */
export function writeMessage(call: RawDuplex, message: Uint8Array): Promise<void> {
  const state = writerState(call)
  if (state.closed || call.destroyed || call.writableEnded) return Promise.reject(state.closed ?? new Error('the stream is closed'))
  const length = message.byteLength + 5
  state.outstanding += length
  call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength), () => {
    state.outstanding -= length
    if (state.outstanding <= LOW_WATER) for (const waiter of state.waiters.splice(0)) waiter.resolve()
  })
  if (state.outstanding <= HIGH_WATER) return Promise.resolve()
  return new Promise<void>((resolve, reject) => state.waiters.push({ resolve, reject }))
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
