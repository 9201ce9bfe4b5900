/**
 * The FileSync sender: serves a local directory to the daemon over `FileSync/DiffCopy` (wire doc 5.4).
 */
import { open } from 'node:fs/promises'
import { fstypes } from '../proto.js'
import type { RawDuplex } from './stream.js'
import { writeMessage } from './stream.js'
import type { WalkEntry, WalkOptions } from './walk.js'
import { walk } from './walk.js'

const Type = fstypes.Packet.PacketType

/** Size of each DATA packet: far below every engine's 4 MiB session message limit, big enough to be cheap. */
export const DATA_CHUNK = 256 * 1024
/** Files streamed at once (requests beyond this wait their turn). */
const PARALLEL_FILES = 4

function encode(packet: fstypes.Packet.$Properties): Uint8Array {
  return fstypes.Packet.encode(packet).finish()
}

/**
 * Runs one diffcopy as the sender. Resolves when the daemon has finished (FIN handshake) or ended the call;
 * rejects on an ERR from the daemon or a failure to read the tree (after telling the daemon with ERR).
 */
export async function sendDirectory(call: RawDuplex, root: string, options: WalkOptions): Promise<void> {
  const entries: WalkEntry[] = []
  const requests: number[] = []
  let wakeServer: (() => void) | undefined
  let finished = false
  let walkDone = false

  const send = (packet: fstypes.Packet.$Properties): Promise<void> => writeMessage(call, encode(packet))
  const wake = (): void => {
    const resolve = wakeServer
    wakeServer = undefined
    resolve?.()
  }

  let settle!: { resolve: () => void; reject: (error: Error) => void }
  const outcome = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject }
  })
  const stop = (): void => {
    finished = true
    wake()
  }
  // A local failure: tell the daemon (ERR) and end the call.
  const fail = (error: unknown): void => {
    if (finished) return
    stop()
    const failure = error instanceof Error ? error : new Error(String(error))
    settle.reject(failure)
    if (!call.destroyed && !call.writableEnded) {
      void send({ type: Type.PACKET_ERR, data: Buffer.from(failure.message) })
        .catch(() => undefined)
        .finally(() => call.end())
    }
  }

  const serveFile = async (id: number): Promise<void> => {
    const entry = entries[id]
    if (!entry || !entry.hasData) throw new Error(`the engine asked for entry ${id}, which is not a regular file`)
    const handle = await open(entry.absolutePath, 'r')
    try {
      for (;;) {
        const buffer = Buffer.allocUnsafe(DATA_CHUNK)
        const { bytesRead } = await handle.read(buffer, 0, DATA_CHUNK, null)
        if (bytesRead === 0) break
        await send({ type: Type.PACKET_DATA, ID: id, data: buffer.subarray(0, bytesRead) })
        if (finished) return
      }
    } finally {
      await handle.close()
    }
    await send({ type: Type.PACKET_DATA, ID: id })
  }

  // Serves requested files, a few at a time, until the call ends.
  const server = (async (): Promise<void> => {
    const running = new Set<Promise<void>>()
    while (!finished) {
      if (running.size >= PARALLEL_FILES) {
        await Promise.race(running)
        continue
      }
      const id = requests.shift()
      if (id === undefined) {
        await new Promise<void>((resolve) => {
          wakeServer = resolve
        })
        continue
      }
      const task: Promise<void> = serveFile(id)
        .catch(fail)
        .finally(() => running.delete(task))
      running.add(task)
    }
    await Promise.allSettled(running)
  })()

  call.on('data', (message: Buffer) => {
    let packet: fstypes.Packet
    try {
      packet = fstypes.Packet.decode(message)
    } catch (error) {
      fail(error)
      return
    }
    switch (packet.type) {
      case Type.PACKET_REQ:
        requests.push(packet.ID)
        wake()
        break
      case Type.PACKET_FIN:
        stop()
        send({ type: Type.PACKET_FIN })
          .then(() => {
            call.end()
            settle.resolve()
          })
          .catch((error: unknown) => settle.reject(error as Error))
        break
      case Type.PACKET_ERR:
        stop()
        settle.reject(new Error(`the engine stopped the transfer: ${Buffer.from(packet.data ?? []).toString()}`))
        call.end()
        break
      default:
        break
    }
  })
  call.on('end', () => {
    stop()
    settle.resolve()
  })
  call.on('cancelled', () => {
    stop()
    settle.reject(new Error('the engine cancelled the transfer'))
  })
  call.on('error', (error: Error) => fail(error))

  void (async (): Promise<void> => {
    for await (const entry of walk(root, options)) {
      if (finished) return
      entries.push(entry)
      await send({ type: Type.PACKET_STAT, stat: entry.stat })
    }
    walkDone = true
    await send({ type: Type.PACKET_STAT })
  })().catch((error: unknown) => {
    if (!walkDone) fail(error)
  })

  try {
    await outcome
  } finally {
    stop()
    await server
  }
}
