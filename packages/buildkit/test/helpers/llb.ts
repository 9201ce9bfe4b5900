/**
 * A tiny hand-assembled LLB emitter for the tests (wire doc section 3, Appendix B), used until @kiln/llb's State
 * API is available to this package's tests. Follows Go's serialization rules: ascending field numbers, defaults
 * omitted, sorted map keys, `-1` as a 10-byte varint.
 */
import { createHash } from 'node:crypto'

type Part = Uint8Array

function varint(value: bigint | number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value))
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return Uint8Array.from(out)
}

const concat = (parts: Part[]): Uint8Array => Buffer.concat(parts)
const key = (field: number, wire: number): Uint8Array => varint(field * 8 + wire)
export const int = (field: number, value: number | bigint): Part => (BigInt(value) === 0n ? new Uint8Array() : concat([key(field, 0), varint(value)]))
export const intAlways = (field: number, value: number | bigint): Part => concat([key(field, 0), varint(value)])
export const bytes = (field: number, value: Uint8Array): Part => concat([key(field, 2), varint(value.length), value])
export const str = (field: number, value: string): Part => (value === '' ? new Uint8Array() : bytes(field, Buffer.from(value)))
export const msg = (field: number, parts: Part[]): Part => bytes(field, concat(parts))
export const bool = (field: number, value: boolean): Part => (value ? intAlways(field, 1) : new Uint8Array())
const map = (field: number, entries: Record<string, string>): Part[] =>
  Object.keys(entries)
    .sort()
    .map((name) => msg(field, [bytes(1, Buffer.from(name)), bytes(2, Buffer.from(entries[name] as string))]))

export interface Op {
  bytes: Uint8Array
  digest: string
}

function op(parts: Part[]): Op {
  const data = concat(parts)
  return { bytes: data, digest: `sha256:${createHash('sha256').update(data).digest('hex')}` }
}

const platform = msg(10, [str(1, 'amd64'), str(2, 'linux')])
const constraints = msg(11, [])
const input = (digest: string, index = 0): Part => msg(1, [str(1, digest), int(2, index)])

export function image(ref = 'docker.io/library/busybox:latest'): Op {
  return op([msg(3, [str(1, `docker-image://${ref}`)]), platform, constraints])
}

export function local(name: string, attrs: Record<string, string> = {}): Op {
  return op([msg(3, [str(1, `local://${name}`), ...map(2, attrs)]), constraints])
}

export interface Mount {
  input: number
  dest: string
  output: number
  readonly?: boolean
  selector?: string
  type?: 'bind' | 'secret' | 'cache' | 'tmpfs'
  secret?: { id: string; mode?: number; optional?: boolean }
  cacheId?: string
}

const MOUNT_TYPES = { bind: 0, secret: 1, cache: 3, tmpfs: 4 }

export function exec(inputs: { digest: string; index?: number }[], args: string[], mounts: Mount[], options: { env?: string[]; network?: 'none' | 'host' } = {}): Op {
  const meta = msg(1, [...args.map((arg) => str(1, arg)), ...(options.env ?? ['PATH=/bin:/usr/bin:/sbin:/usr/sbin']).map((entry) => str(2, entry)), str(3, '/')])
  const mountParts = mounts.map((mount) =>
    msg(2, [
      int(1, mount.input),
      str(2, mount.selector ?? ''),
      str(3, mount.dest),
      int(4, mount.output),
      bool(5, mount.readonly ?? false),
      int(6, MOUNT_TYPES[mount.type ?? 'bind']),
      ...(mount.type === 'cache' ? [msg(20, [str(1, mount.cacheId ?? mount.dest), int(2, 2)])] : []),
      ...(mount.secret ? [msg(21, [str(1, mount.secret.id), int(2, 0), int(3, 0), int(4, mount.secret.mode ?? 0o400), bool(5, mount.secret.optional ?? false)])] : []),
    ]),
  )
  const network = options.network === 'host' ? 1 : 2
  return op([...inputs.map((entry) => input(entry.digest, entry.index ?? 0)), msg(2, [meta, ...mountParts, int(3, network)]), platform, constraints])
}

/** A FileOp that makes a file (mkfile) on scratch. */
export function mkfile(path: string, data: string | Uint8Array, mode = 0o644): Op {
  const action = msg(2, [int(1, -1), int(2, -1), intAlways(3, 0), msg(5, [str(1, path), int(2, mode), bytes(3, typeof data === 'string' ? Buffer.from(data) : data), int(5, -1)])])
  return op([msg(4, [action]), platform, constraints])
}

/** A FileOp that copies `src` of `from` to `dest` of scratch. */
export function copy(from: Op, src: string, dest: string): Op {
  const action = msg(2, [
    int(1, -1),
    int(2, 0),
    intAlways(3, 0),
    msg(4, [str(1, src), str(2, dest), int(4, -1), bool(6, true), bool(8, true), bool(9, true), int(11, -1)]),
  ])
  return op([input(from.digest), msg(4, [action]), platform, constraints])
}

/** A Definition whose result is output `index` of `result`. */
export function definition(ops: Op[], result: Op, index = 0): Uint8Array {
  const terminal = op([input(result.digest, index)])
  const unique = new Map<string, Op>()
  for (const entry of [...ops, terminal]) unique.set(entry.digest, entry)
  return concat([...unique.values()].map((entry) => bytes(1, entry.bytes)))
}

/** An exec on busybox whose `/out` mount (output 1) is the result. */
export function busyboxScript(script: string, extra: Mount[] = [], options: { network?: 'none' | 'host'; base?: Op } = {}): { ops: Op[]; result: Op } {
  const base = options.base ?? image()
  const run = exec([{ digest: base.digest }], ['/bin/sh', '-c', script], [{ input: 0, dest: '/', output: 0 }, { input: -1, dest: '/out', output: 1 }, ...extra], options)
  return { ops: [base, run], result: run }
}
