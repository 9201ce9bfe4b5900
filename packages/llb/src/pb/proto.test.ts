import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { image, local, merge, mkdir, scratch } from '../index.js'
import { decode } from './codec.js'
import { MESSAGES } from './schema.js'

const protoPath = fileURLToPath(new URL('../../../../proto/pb/ops.proto', import.meta.url))
/** Field names as written in the .proto. */
const exact = protobuf.parse(readFileSync(protoPath, 'utf8'), { keepCase: true }).root
exact.resolveAll()
/** protobufjs' default camelCase view, the property names the codec uses. */
const root = protobuf.loadSync(protoPath)
root.resolveAll()

function kindOf(field: protobuf.Field): string {
  if (field.resolvedType instanceof protobuf.Enum) return 'enum'
  if (field.resolvedType instanceof protobuf.Type) return 'message'
  return field.type
}

describe('proto/pb/ops.proto and the codec table agree', () => {
  it('has the same messages', () => {
    const names = exact.lookup('pb') as protobuf.Namespace
    const protoMessages = names.nestedArray.filter((nested) => nested instanceof protobuf.Type).map((type) => type.name).sort()
    expect(protoMessages).toEqual([...MESSAGES.keys()].sort())
  })

  for (const desc of MESSAGES.values()) {
    it(`pb.${desc.name}: numbers, names, types, labels and oneofs`, () => {
      const type = exact.lookupType(`pb.${desc.name}`)
      const camel = root.lookupType(`pb.${desc.name}`)
      const fromProto = type.fieldsArray.map((field) => ({
        no: field.id,
        name: field.name,
        kind: field instanceof protobuf.MapField ? 'map' : kindOf(field),
        repeated: field.repeated,
        type: field instanceof protobuf.MapField ? (field.resolvedType ? field.type : undefined) : field.resolvedType instanceof protobuf.Type ? field.type : undefined,
        mapValue: field instanceof protobuf.MapField ? (field.resolvedType instanceof protobuf.Type ? 'message' : field.type) : undefined,
        oneof: field.partOf?.name,
      })).sort((a, b) => a.no - b.no)
      const fromTable = desc.fields.map((field) => ({
        no: field.no, name: field.name, kind: field.kind, repeated: field.repeated, type: field.type, mapValue: field.mapValue, oneof: field.oneof,
      }))
      expect(fromTable).toEqual(fromProto)
      expect(desc.fields.map((field) => field.prop)).toEqual(camel.fieldsArray.slice().sort((a, b) => a.id - b.id).map((field) => field.name))
    })
  }
})

describe('protobufjs reads what the codec writes', () => {
  it('decodes a definition with every op kind to the same values', () => {
    const base = image('busybox:1.36', { platform: 'linux/arm64' })
    const src = local('src', { uniqueId: 'u', include: ['*.ts'] })
    const run = base.run({
      args: ['sh', '-c', 'true'],
      ulimits: [{ name: 'nofile', soft: 1024, hard: -1 }],
      mounts: [{ type: 'bind', dest: '/src', from: src, readonly: true }, { type: 'tmpfs', dest: '/tmp', size: 1 << 20 }, { type: 'ssh' }],
      validExitCodes: [0, 1],
    })
    const files = scratch().file(mkdir('/x', { owner: { user: 0, group: 'staff' }, createdTime: new Date(1_700_000_000_000) }).copy(src, '/', '/x', { include: ['a'] }))
    const definition = merge([run.root(), files], { customName: 'merged', ignoreCache: true }).marshal({ localUniqueId: 'u' })
    const Definition = root.lookupType('pb.Definition')
    const Op = root.lookupType('pb.Op')
    const options = { longs: String, enums: Number, bytes: Array, defaults: false }
    const normalize = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'bigint' ? item.toString() : typeof item === 'number' ? String(item) : item instanceof Uint8Array ? Array.from(item) : item))
    const theirs = Definition.toObject(Definition.decode(definition.bytes), options)
    const ours = decode('Definition', definition.bytes) as { def: Uint8Array[] }
    expect(normalize({ ...ours, def: ours.def.map((bytes) => decode('Op', bytes)) })).toEqual(
      normalize({ ...theirs, def: (theirs.def as number[][]).map((bytes) => Op.toObject(Op.decode(Uint8Array.from(bytes)), options)) }),
    )
  })
})
