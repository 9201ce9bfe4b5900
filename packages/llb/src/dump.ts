import { decode } from './pb/codec.js'
import { goString, stringifyGo, toGoJson } from './pb/go-json.js'
import { messageDesc } from './pb/schema.js'
import type { PbDefinition, PbOp, PbOpMetadata } from './pb/types.js'
import { digestOf } from './marshal.js'

/** One op of a decoded Definition. */
export interface DecodedOp {
  readonly digest: string
  readonly bytes: Uint8Array
  readonly op: PbOp
  readonly metadata: PbOpMetadata
}

/** A decoded `pb.Definition`: its ops in `def` order (duplicates kept) and its metadata. */
export interface DecodedDefinition {
  readonly ops: readonly DecodedOp[]
  readonly metadata: Readonly<Record<string, PbOpMetadata>>
}

/**
 * fromPB: parses `pb.Definition` bytes (built by Kiln or anyone else). Throws `RangeError` on malformed protobuf;
 * use {@link validateDefinition} for a checked graph.
 */
export function decodeDefinition(bytes: Uint8Array): DecodedDefinition {
  const definition = decode<PbDefinition>('Definition', bytes)
  const metadata = definition.metadata ?? {}
  const ops = (definition.def ?? []).map((opBytes) => {
    const digest = digestOf(opBytes)
    return { digest, bytes: opBytes, op: decode<PbOp>('Op', opBytes), metadata: metadata[digest] ?? {} }
  })
  return { ops, metadata }
}

/** @internal */
export function dumpJsonOps(ops: readonly { digest: string; op: PbOp; metadata: PbOpMetadata }[]): string {
  const opDesc = messageDesc('Op')
  const metadataDesc = messageDesc('OpMetadata')
  return ops.map((entry) =>
    `{"Op":${stringifyGo(toGoJson(opDesc, entry.op))},"Digest":${goString(entry.digest)},"OpMetadata":${stringifyGo(toGoJson(metadataDesc, entry.metadata))}}\n`,
  ).join('')
}

function label(digest: string, op: PbOp): [string, string] {
  if (op.source) return [op.source.identifier ?? '', 'ellipse']
  if (op.exec) return [(op.exec.meta?.args ?? []).join(' '), 'box']
  if (op.build) return ['build', 'box3d']
  if (op.merge) return ['merge', 'invtriangle']
  if (op.diff) return ['diff', 'doublecircle']
  if (op.file) {
    const names = (op.file.actions ?? []).map((action) => {
      if (action.copy) return `copy{src=${action.copy.src ?? ''}, dest=${action.copy.dest ?? ''}}`
      if (action.mkfile) return `mkfile{path=${action.mkfile.path ?? ''}}`
      if (action.mkdir) return `mkdir{path=${action.mkdir.path ?? ''}}`
      if (action.rm) return `rm{path=${action.rm.path ?? ''}}`
      if (action.symlink) return `symlink{oldpath=${action.symlink.oldpath ?? ''}, newpath=${action.symlink.newpath ?? ''}}`
      return ''
    })
    return [names.join(','), 'note']
  }
  return [digest, 'plaintext']
}

/** @internal */
export function dumpDotOps(ops: readonly { digest: string; op: PbOp }[]): string {
  const lines = ['digraph {']
  for (const { digest, op } of ops) {
    const [name, shape] = label(digest, op)
    lines.push(`  ${JSON.stringify(digest)} [label=${JSON.stringify(name)} shape=${JSON.stringify(shape)}];`)
  }
  for (const { digest, op } of ops) {
    ;(op.inputs ?? []).forEach((input, index) => {
      let edge = ''
      for (const mount of op.exec?.mounts ?? []) if ((mount.input ?? 0) === index && mount.dest !== '/') edge = mount.dest ?? ''
      lines.push(`  ${JSON.stringify(input.digest ?? '')} -> ${JSON.stringify(digest)} [label=${JSON.stringify(edge)}];`)
    })
  }
  lines.push('}')
  return `${lines.join('\n')}\n`
}

/**
 * What `buildctl debug dump-llb` prints for a Definition: one JSON object per op (`Op`, `Digest`, `OpMetadata`),
 * one per line, in `def` order, in Go's JSON shape.
 */
export function dumpJson(definition: Uint8Array | { bytes: Uint8Array }): string {
  const bytes = definition instanceof Uint8Array ? definition : definition.bytes
  return dumpJsonOps(decodeDefinition(bytes).ops)
}

/** What `buildctl debug dump-llb --dot` prints: a Graphviz digraph of the ops. */
export function dumpDot(definition: Uint8Array | { bytes: Uint8Array }): string {
  const bytes = definition instanceof Uint8Array ? definition : definition.bytes
  return dumpDotOps(decodeDefinition(bytes).ops)
}

/** The raw `pb.Definition` bytes, exactly what `buildctl build` reads on stdin. */
export function dumpRaw(definition: Uint8Array | { bytes: Uint8Array }): Uint8Array {
  return definition instanceof Uint8Array ? definition : definition.bytes
}
