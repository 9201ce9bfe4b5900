/**
 * The FileSync sender: serves a local directory to the daemon over `FileSync/DiffCopy` (wire doc 5.4).
 *
 * Where the time goes with many small files: a STAT per entry, then a REQ and two DATA per file, each a gRPC
 * message. Packets are encoded by hand into shared buffers (packets.ts), STATs a few hundred at a time, and the
 * small files requested during one turn of the event loop are read with synchronous calls and answered in one
 * buffer. STATs are handed to the call only as fast as the engine reads them, so answers are never queued behind
 * thousands of STATs (STATS_AHEAD). Big files are streamed in chunks, at most BIG_AHEAD ahead of the connection.
 * Nothing runs long on the event loop: small files are served in slices of a few milliseconds, the walk yields
 * between batches.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { FrameBuilder, decodePacket, PacketType } from './packets.js'
import type { RawDuplex } from './stream.js'
import type { RawEntry, WalkOptions } from './walk.js'
import { walkTree } from './walk.js'

/** Size of each DATA packet: far below every engine's 4 MiB session message limit, big enough to be cheap. */
export const DATA_CHUNK = 256 * 1024
/** Files up to this size are read with one synchronous call and answered in the shared buffer. */
const SMALL_FILE = 64 * 1024
/** Big files streamed at once. */
const PARALLEL_FILES = 4
/** Longest a slice of small-file answers may hold the event loop (health checks share it). */
const SLICE_MS = 8
/** A slice also ends when this many bytes of answers are waiting to be written. */
const SLICE_BYTES = 2 * 1024 * 1024
/**
 * A batch of STATs is handed to the call only once the previous one has been written to the connection but for
 * this many bytes (the engine's flow-control window admitted it); answers go out at once. The receiver
 * handles packets in order, and its STAT handling waits for the goroutine that creates the files: STATs queued far
 * ahead would put every answer behind them, so the files' contents were written only after the last STAT, one
 * after another (a tail of about a second for 20 000 files). Kept close to what the engine's flow-control window
 * admits, STATs and answers interleave, as with Go's sender (whose writes block on that window), and the engine
 * creates files and writes contents at the same time.
 */
export const STATS_AHEAD = 16 * 1024
/** Encoded STATs held back (the walk runs ahead of the engine, within this bound, then waits). */
const STATS_QUEUED = 4 * 1024 * 1024
/**
 * A big file's next chunk is queued only while at most this many bytes wait to be written: a STAT batch queued
 * behind megabytes of one big file would hold up every small file after it.
 */
const BIG_AHEAD = 1024 * 1024

/**
 * Runs one diffcopy as the sender. Resolves when the daemon has finished (FIN handshake) or ended the call;
 * rejects on an ERR from the daemon or a failure to read the tree (after telling the daemon with ERR).
 */
export async function sendDirectory(call: RawDuplex, root: string, options: WalkOptions): Promise<void> {
  // Per entry ID (every STAT counts): where its content is, and its size; undefined for entries without data.
  const files: (string | undefined)[] = []
  const sizes: number[] = []
  const small: number[] = []
  let smallHead = 0
  const big: number[] = []
  let bigRunning = 0
  let finished = false
  let sliceScheduled = false
  const drainWaiters: (() => void)[] = []
  const scratch = Buffer.allocUnsafe(SMALL_FILE + 1)

  let settle!: { resolve: () => void; reject: (error: Error) => void }
  const outcome = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject }
  })
  const wakeWriters = (): void => {
    for (const waiter of drainWaiters.splice(0)) waiter()
  }
  call.on('drain', wakeWriters)
  // Encoded STAT batches the walk has produced and the call has not been given yet (see STATS_AHEAD), the last
  // one possibly the end-of-stats marker. The walk waits while they hold more than STATS_QUEUED bytes.
  const pendingStats: Buffer[] = []
  let pendingStatsBytes = 0
  let statsMark = 0
  let walkWaiter: (() => void) | undefined
  const releaseStats = (): void => {
    let released = false
    while (pendingStats.length > 0 && !finished && call.bytesWritten >= statsMark) {
      const frames = pendingStats.shift() as Buffer
      pendingStatsBytes -= frames.length
      call.writeFramed(frames)
      // Written in order: once this batch is out but for STATS_AHEAD bytes, so is everything queued before it.
      statsMark = call.bytesQueued - STATS_AHEAD
      released = true
    }
    if (released) call.flush()
    if (walkWaiter && (finished || pendingStatsBytes <= STATS_QUEUED)) {
      const wake = walkWaiter
      walkWaiter = undefined
      wake()
    }
  }
  // Writers waiting until the call has written up to a mark (see BIG_AHEAD).
  let writtenWaiters: { mark: number; resolve: () => void }[] = []
  const whenWritten = (mark: number): Promise<void> => {
    if (finished || call.bytesWritten >= mark) return Promise.resolve()
    return new Promise<void>((resolve) => writtenWaiters.push({ mark, resolve }))
  }
  const onWritten = (): void => {
    releaseStats()
    if (writtenWaiters.length === 0) return
    const written = call.bytesWritten
    const waiting = writtenWaiters
    writtenWaiters = []
    for (const waiter of waiting) {
      if (finished || written >= waiter.mark) waiter.resolve()
      else writtenWaiters.push(waiter)
    }
  }
  call.on('written', onWritten)
  const stop = (): void => {
    finished = true
    wakeWriters()
    onWritten()
  }
  /** Writes frames; resolves when the caller may write more. */
  const writeFrames = (frames: Buffer): Promise<void> => {
    // Each call here is a whole batch (or a slice of answers the engine waits for): out at once.
    const more = call.writeFramed(frames)
    call.flush()
    if (more || finished || call.destroyed) return Promise.resolve()
    return new Promise<void>((resolve) => drainWaiters.push(resolve))
  }
  // A local failure: tell the daemon (ERR) and end the call.
  const fail = (error: unknown): void => {
    if (finished) return
    stop()
    const failure = error instanceof Error ? error : new Error(String(error))
    settle.reject(failure)
    if (!call.destroyed && !call.writableEnded) {
      const frames = new FrameBuilder(256)
      frames.control(PacketType.ERR, failure.message)
      call.writeFramed(frames.take())
      call.end()
    }
  }

  /**
   * Answers one small file into `frames`: open, read and close are synchronous (three short syscalls cost far less
   * than three thread-pool round trips). Returns false when the file turned out bigger than its stat said; it is
   * then streamed like a big one.
   */
  const answerSmall = (frames: FrameBuilder, id: number, path: string): boolean => {
    const expected = sizes[id] as number
    const fd = openSync(path, 'r')
    let bytesRead: number
    try {
      bytesRead = readSync(fd, scratch, 0, expected + 1, null)
    } finally {
      closeSync(fd)
    }
    if (bytesRead > expected) return false
    if (bytesRead > 0) frames.dataFrom(id, scratch, bytesRead)
    frames.endOfData(id)
    return true
  }

  /** Answers queued small-file requests for at most SLICE_MS, then yields (and waits while the call is full). */
  const serveSmallSlice = (): void => {
    sliceScheduled = false
    if (finished) return
    const frames = new FrameBuilder(64 * 1024)
    const deadline = performance.now() + SLICE_MS
    try {
      while (smallHead < small.length && frames.length < SLICE_BYTES) {
        const id = small[smallHead++] as number
        if (!answerSmall(frames, id, files[id] as string)) queueBig(id)
        // Checked after every file: a read usually takes microseconds, but one that waits for the disk does not.
        if (performance.now() > deadline) break
      }
    } catch (error) {
      fail(error)
      return
    }
    if (smallHead === small.length) {
      small.length = 0
      smallHead = 0
    }
    void writeFrames(frames.take()).then(() => {
      if (smallHead < small.length) scheduleSmall()
    })
  }
  const scheduleSmall = (): void => {
    if (sliceScheduled || finished) return
    sliceScheduled = true
    setImmediate(serveSmallSlice)
  }

  const streamFile = async (id: number): Promise<void> => {
    const handle = await open(files[id] as string, 'r')
    try {
      // A file that grew since the walk is still sent whole (reads continue until one comes back short).
      const expected = sizes[id] as number
      for (;;) {
        const size = Math.min(DATA_CHUNK, expected + 1)
        const buffer = Buffer.allocUnsafe(size)
        const { bytesRead } = await handle.read(buffer, 0, size, null)
        if (finished) return
        if (bytesRead > 0) {
          await call.send([FrameBuilder.dataHeader(id, bytesRead), buffer.subarray(0, bytesRead)])
          await whenWritten(call.bytesQueued - BIG_AHEAD)
        }
        if (bytesRead < size || finished) break
      }
    } finally {
      await handle.close()
    }
    if (!finished) await call.send(FrameBuilder.dataHeader(id, 0))
  }
  const queueBig = (id: number): void => {
    big.push(id)
    startBig()
  }
  const startBig = (): void => {
    while (!finished && bigRunning < PARALLEL_FILES && big.length > 0) {
      const id = big.shift() as number
      bigRunning++
      streamFile(id)
        .catch(fail)
        .finally(() => {
          bigRunning--
          startBig()
        })
    }
  }

  call.on('data', (message: Buffer) => {
    let packet
    try {
      packet = decodePacket(message)
    } catch (error) {
      fail(error)
      return
    }
    switch (packet.type) {
      case PacketType.REQ: {
        const id = packet.id
        if (files[id] === undefined) {
          fail(new Error(`the engine asked for entry ${id}, which is not a regular file`))
          return
        }
        if ((sizes[id] as number) <= SMALL_FILE) {
          small.push(id)
          scheduleSmall()
        } else queueBig(id)
        break
      }
      case PacketType.FIN: {
        // The receiver sends FIN once every requested file is complete, so nothing is left to answer.
        stop()
        const frames = new FrameBuilder(16)
        frames.control(PacketType.FIN)
        call.writeFramed(frames.take())
        call.end()
        settle.resolve()
        break
      }
      case PacketType.ERR:
        stop()
        settle.reject(new Error(`the engine stopped the transfer: ${packet.data?.toString() ?? ''}`))
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

  const sendStats = async (entries: RawEntry[]): Promise<void> => {
    if (finished) throw new Error('the transfer ended')
    const frames = new FrameBuilder(entries.length * 96)
    for (const entry of entries) {
      frames.stat(entry)
      files.push(entry.hasData ? entry.absolutePath : undefined)
      sizes.push(entry.size)
    }
    const encoded = frames.take()
    pendingStats.push(encoded)
    pendingStatsBytes += encoded.length
    releaseStats()
    if (!finished && pendingStatsBytes > STATS_QUEUED) await new Promise<void>((resolve) => (walkWaiter = resolve))
  }
  void walkTree(root, options, sendStats).then(
    () => {
      if (finished) return
      const frames = new FrameBuilder(16)
      frames.endOfStats()
      pendingStats.push(frames.take())
      releaseStats()
    },
    (error: unknown) => fail(error),
  )

  try {
    await outcome
  } finally {
    stop()
    call.off('drain', wakeWriters)
    call.off('written', onWritten)
  }
}
