/**
 * The FileSync sender: serves a local directory to the daemon over `FileSync/DiffCopy` (wire doc 5.4).
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { fstypes } from '../proto.js'
import type { RawDuplex } from './stream.js'
import { writeMessage } from './stream.js'
import type { WalkEntry, WalkOptions } from './walk.js'
import { walk } from './walk.js'

const Type = fstypes.Packet.PacketType

/** Size of each DATA packet: far below every engine's 4 MiB session message limit, big enough to be cheap. */
export const DATA_CHUNK = 256 * 1024
/** Files up to this size are read in one synchronous call. */
const SMALL_FILE = 64 * 1024

/**
 * Files streamed at once. The engine requests every file it needs up front; small files cost a few syscalls each,
 * so serving many at once hides their latency (Go serves 4, but its syscalls do not go through a thread pool).
 */
const PARALLEL_FILES = 16

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

  /**
   * A small file is read with synchronous calls: three short syscalls on the event loop cost far less than three
   * thread-pool round trips, and they take microseconds, so health checks are never held up. Returns false when
   * the file turned out bigger than its stat said (it is then streamed).
   */
  const serveSmallFile = (id: number, entry: WalkEntry): boolean => {
    const expected = Number(entry.stat.size ?? 0)
    const buffer = Buffer.allocUnsafe(expected + 1)
    const fd = openSync(entry.absolutePath, 'r')
    let bytesRead: number
    try {
      bytesRead = readSync(fd, buffer, 0, expected + 1, null)
    } finally {
      closeSync(fd)
    }
    if (bytesRead > expected) return false
    // Not awaited: back-pressure is applied to the walk and to big files; a small file is already in memory.
    if (bytesRead > 0) void send({ type: Type.PACKET_DATA, ID: id, data: buffer.subarray(0, bytesRead) }).catch(() => undefined)
    void send({ type: Type.PACKET_DATA, ID: id }).catch(() => undefined)
    return true
  }

  const serveFile = async (id: number): Promise<void> => {
    const entry = entries[id]
    if (!entry || !entry.hasData) throw new Error(`the engine asked for entry ${id}, which is not a regular file`)
    const handle = await open(entry.absolutePath, 'r')
    try {
      // Sized from the stat, so a small file costs one small buffer and one read; a file that grew since the walk
      // is still sent whole (reads continue until one comes back short).
      const expected = Number(entry.stat.size ?? 0)
      for (;;) {
        const size = Math.min(DATA_CHUNK, expected + 1)
        const buffer = Buffer.allocUnsafe(size)
        const { bytesRead } = await handle.read(buffer, 0, size, null)
        if (bytesRead > 0) await send({ type: Type.PACKET_DATA, ID: id, data: buffer.subarray(0, bytesRead) })
        if (bytesRead < size || finished) break
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
      case Type.PACKET_REQ: {
        // Small files are answered right here: the engine waits on each request, so latency is throughput.
        const entry = entries[packet.ID]
        try {
          if (entry?.hasData && Number(entry.stat.size ?? 0) <= SMALL_FILE && serveSmallFile(packet.ID, entry)) break
        } catch (error) {
          fail(error)
          break
        }
        requests.push(packet.ID)
        wake()
        break
      }
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
