/**
 * FileSend receivers: the daemon exports into the client through `FileSend/DiffCopy` (wire doc 5.4, 6).
 *
 * Both receivers write beside the destination first (a hidden temporary sibling) and move the result into place
 * only when the transfer finished, so a failed export never leaves a half-written destination.
 */
import { execFile } from 'node:child_process'
import { closeSync, createWriteStream, fchmodSync, futimesSync, openSync, writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { chmod, link, lutimes, mkdir, mkdtemp, open, rename, rm, stat, symlink, utimes } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { once } from 'node:events'
import { promisify } from 'node:util'
import type { Writable } from 'node:stream'
import { BuildkitError } from '../errors.js'
import { filesync, fstypes, toBigInt, toNumber } from '../proto.js'
import { goModeKind, goToChmod } from './filemode.js'
import type { RawDuplex } from './stream.js'
import { writeMessage } from './stream.js'

const Type = fstypes.Packet.PacketType
const run = promisify(execFile)

/** The messages of a call; leaving the loop does not end the call, so the status the daemon waits for is still sent. */
function messages(call: RawDuplex): AsyncIterable<Buffer> {
  return call.messages()
}

function refuse(message: string): BuildkitError {
  return new BuildkitError('BUILDKIT_FILE_TRANSFER', message)
}

/**
 * Checks a path sent by the daemon: relative, clean, no `..` and no empty or `.` components. Returns it split.
 */
export function checkReceivedPath(path: string): string[] {
  if (path === '' || path.startsWith('/')) throw refuse(`refusing an exported path that is absolute or empty: ${JSON.stringify(path)}`)
  if (path.includes('\0')) throw refuse(`refusing an exported path with a NUL byte: ${JSON.stringify(path)}`)
  const parts = path.split('/')
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') throw refuse(`refusing an exported path that is not clean or leaves the destination: ${JSON.stringify(path)}`)
  }
  return parts
}

/** Creates a temporary directory beside `dest` (same filesystem, so the final rename is atomic). */
async function tempBeside(dest: string): Promise<string> {
  await mkdir(dirname(dest), { recursive: true })
  return mkdtemp(join(dirname(dest), `.${basename(dest)}.kiln-`))
}

/** Moves `source` to `dest`, replacing whatever was there. */
async function replace(source: string, dest: string): Promise<void> {
  const existing = await stat(dest).catch(() => undefined)
  if (!existing) {
    await rename(source, dest)
    return
  }
  const old = `${source}.old`
  await rename(dest, old)
  try {
    await rename(source, dest)
  } catch (error) {
    await rename(old, dest).catch(() => undefined)
    throw error
  }
  await rm(old, { recursive: true, force: true })
}

interface Received {
  path: string
  mode: number
  modTimeNs: bigint
  kind: ReturnType<typeof goModeKind>
  linkname: string
  wanted: boolean
}

function toSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6
}

/** Files up to this size are collected in memory and written in one go. */
const SMALL_FILE = 1024 * 1024

/** Received files written at once before the stream is read further (back-pressure on the daemon). */
const PARALLEL_WRITES = 32

/** Receives a local export (Packets) into `dest`. */
export async function receiveDirectory(call: RawDuplex, dest: string): Promise<void> {
  const temp = await tempBeside(dest)
  const entries: Received[] = []
  const kinds = new Map<string, Received>()
  const hardlinks: { path: string; target: string }[] = []
  // Per requested file: the chain of its writes (ordered), and its open handle.
  const writes = new Map<number, { chain: Promise<void>; handle?: FileHandle; buffered: Uint8Array[]; bufferedBytes: number; streaming?: boolean }>()
  const running = new Set<Promise<void>>()
  let failure: unknown
  let pending = 0
  let statsDone = false
  let finSent = false
  const send = (packet: fstypes.Packet.$Properties): Promise<void> => writeMessage(call, fstypes.Packet.encode(packet).finish())

  const target = (parts: string[]): string => join(temp, ...parts)

  const onStat = async (entry: fstypes.Stat): Promise<void> => {
    const path = entry.path ?? ''
    const parts = checkReceivedPath(path)
    if (kinds.has(path)) throw refuse(`the export sent ${JSON.stringify(path)} twice`)
    // Every parent must be a directory this export created: a symlink parent would let a write escape.
    if (parts.length > 1) {
      const parent = kinds.get(parts.slice(0, -1).join('/'))
      if (!parent || parent.kind !== 'dir') throw refuse(`refusing ${JSON.stringify(path)}: its parent is not a directory of this export`)
    }
    const mode = entry.mode ?? 0
    const received: Received = { path, mode, modTimeNs: toBigInt(entry.modTime), kind: goModeKind(mode), linkname: entry.linkname ?? '', wanted: false }
    const file = target(parts)
    switch (received.kind) {
      case 'dir':
        // Owner-writable until the end, whatever the final mode, so the children can be written.
        await mkdir(file, { mode: 0o700 })
        break
      case 'symlink':
        await symlink(received.linkname, file)
        break
      case 'file':
        if (received.linkname !== '') {
          checkReceivedPath(received.linkname)
          const source = kinds.get(received.linkname)
          if (!source || source.kind !== 'file' || source.linkname !== '') throw refuse(`refusing hardlink ${JSON.stringify(path)} to ${JSON.stringify(received.linkname)}: not an earlier file of this export`)
          // Linked once the target's content is complete.
          hardlinks.push({ path, target: received.linkname })
        } else received.wanted = true
        break
      case 'fifo':
        await run('mknod', [file, 'p'])
        break
      case 'block':
      case 'char':
        await run('mknod', [file, received.kind === 'block' ? 'b' : 'c', String(toNumber(entry.devmajor)), String(toNumber(entry.devminor))])
        break
      default:
        // Sockets and irregular files cannot be recreated; skip them like the Go receiver.
        return
    }
    const id = entries.length
    entries.push(received)
    kinds.set(path, received)
    if (received.wanted) {
      pending++
      await send({ type: Type.PACKET_REQ, ID: id })
    }
  }

  const maybeFin = async (): Promise<void> => {
    if (statsDone && pending === 0 && !finSent) {
      finSent = true
      await send({ type: Type.PACKET_FIN })
    }
  }

  const onData = (id: number, data: Uint8Array): void => {
    const entry = entries[id]
    if (!entry || !entry.wanted) throw refuse(`the export sent data for entry ${id}, which was not requested`)
    let state = writes.get(id)
    if (!state) {
      state = { chain: Promise.resolve(), buffered: [], bufferedBytes: 0 }
      writes.set(id, state)
    }
    const file = state
    const last = data.length === 0
    if (last) entry.wanted = false
    // A small file is kept in memory until its end and written with synchronous calls: a handful of syscalls
    // that take microseconds, instead of five thread-pool round trips per file.
    if (!file.streaming && file.bufferedBytes + data.length <= SMALL_FILE) {
      if (!last) {
        file.buffered.push(data)
        file.bufferedBytes += data.length
        return
      }
      const fd = openSync(join(temp, entry.path), 'wx', 0o600)
      try {
        for (const chunk of file.buffered) writeSync(fd, chunk)
        fchmodSync(fd, goToChmod(entry.mode))
        const seconds = toSeconds(entry.modTimeNs)
        futimesSync(fd, seconds, seconds)
      } finally {
        closeSync(fd)
      }
      writes.delete(id)
      pending--
      return
    }
    const buffered = file.buffered.splice(0)
    file.bufferedBytes = 0
    file.streaming = true
    file.chain = file.chain.then(async () => {
      file.handle ??= await open(join(temp, entry.path), 'wx', 0o600)
      for (const chunk of buffered) await file.handle.write(chunk)
      if (!last) {
        await file.handle.write(data)
        return
      }
      await file.handle.chmod(goToChmod(entry.mode))
      const seconds = toSeconds(entry.modTimeNs)
      await file.handle.utimes(seconds, seconds)
      await file.handle.close()
      writes.delete(id)
      pending--
      await maybeFin()
    })
    const task = file.chain.catch((error: unknown) => {
      failure ??= error
    })
    running.add(task)
    void task.finally(() => running.delete(task))
  }

  try {
    for await (const message of messages(call)) {
      if (failure) throw failure
      const packet = fstypes.Packet.decode(message)
      switch (packet.type) {
        case Type.PACKET_STAT:
          if (!packet.stat) {
            statsDone = true
            await maybeFin()
          } else await onStat(packet.stat as fstypes.Stat)
          break
        case Type.PACKET_DATA:
          onData(packet.ID, packet.data ?? new Uint8Array())
          if (running.size >= PARALLEL_WRITES) await Promise.race(running)
          await maybeFin()
          break
        case Type.PACKET_FIN:
          // The sender's answer to our FIN: the transfer is complete.
          if (!finSent) throw refuse('the export ended before all files were sent')
          break
        case Type.PACKET_ERR:
          throw refuse(`the engine failed the export: ${Buffer.from(packet.data ?? []).toString()}`)
        default:
          break
      }
    }
    await Promise.all(running)
    if (failure) throw failure
    if (!finSent || pending > 0) throw refuse('the export stream ended before the transfer was complete')
    for (const { path, target: linked } of hardlinks) await link(join(temp, linked), join(temp, path))
    // Metadata last: symlink times, then directories from the deepest up (their mode may forbid writing).
    for (const entry of entries) {
      if (entry.kind === 'symlink') {
        const seconds = toSeconds(entry.modTimeNs)
        await lutimes(join(temp, entry.path), seconds, seconds).catch(() => undefined)
      }
    }
    for (const entry of [...entries].reverse()) {
      if (entry.kind !== 'dir') continue
      const seconds = toSeconds(entry.modTimeNs)
      await chmod(join(temp, entry.path), goToChmod(entry.mode))
      await utimes(join(temp, entry.path), seconds, seconds)
    }
    await chmod(temp, 0o755)
    await replace(temp, dest)
    call.end()
  } catch (error) {
    await Promise.allSettled(running)
    for (const state of writes.values()) await state.handle?.close().catch(() => undefined)
    await rm(temp, { recursive: true, force: true }).catch(() => undefined)
    if (!call.destroyed && !call.writableEnded) {
      await send({ type: Type.PACKET_ERR, data: Buffer.from((error as Error).message) }).catch(() => undefined)
      call.end()
    }
    throw error
  }
}

/** Receives a tarball export (BytesMessage stream) into a file, or into a writable stream. */
export async function receiveTarball(call: RawDuplex, dest: string | Writable): Promise<void> {
  if (typeof dest !== 'string') {
    for await (const message of messages(call)) {
      const data = filesync.BytesMessage.decode(message).data ?? new Uint8Array()
      if (!dest.write(data)) await once(dest, 'drain')
    }
    call.end()
    return
  }
  const temp = await tempBeside(dest)
  const file = join(temp, 'out')
  const output = createWriteStream(file)
  try {
    for await (const message of messages(call)) {
      const data = filesync.BytesMessage.decode(message).data ?? new Uint8Array()
      if (!output.write(data)) await once(output, 'drain')
    }
    output.end()
    await once(output, 'finish')
    await replace(file, dest)
    await rm(temp, { recursive: true, force: true })
    call.end()
  } catch (error) {
    output.destroy()
    await rm(temp, { recursive: true, force: true }).catch(() => undefined)
    throw error
  }
}
