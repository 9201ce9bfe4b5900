/**
 * The LLB message layouts (package `pb`) as a table: field numbers, types and names, written from the field
 * tables of buildkit-wire.md §3 and kept in step with `proto/pb/ops.proto` (a unit test compares the two).
 *
 * One table drives the encoder, the decoder and the Go-shaped JSON of `dumpJson`, so the three cannot disagree.
 */

/** Scalar protobuf types used by LLB. */
export type ScalarKind = 'string' | 'bytes' | 'bool' | 'int64' | 'int32' | 'uint32' | 'uint64' | 'enum'

/** One field of a message. */
export interface FieldDesc {
  /** Field number. */
  readonly no: number
  /** Name as written in the .proto (and in Go's JSON tags). */
  readonly name: string
  /** Property name on the TypeScript object: protobufjs' camelCase of `name`. */
  readonly prop: string
  readonly kind: ScalarKind | 'message' | 'map'
  readonly repeated: boolean
  /** Message type name, for `message` fields and map values that are messages. */
  readonly type?: string
  /** Map value kind (keys are always strings in LLB). */
  readonly mapValue?: ScalarKind | 'message'
  /** Name of the oneof this field belongs to. */
  readonly oneof?: string
  /** The resolved message type of `type` (set once the table is built). */
  readonly typeDesc?: MessageDesc
}

/** One message. */
export interface MessageDesc {
  readonly name: string
  readonly fields: readonly FieldDesc[]
  readonly byNo: ReadonlyMap<number, FieldDesc>
  /** oneof name → the Go struct field name that holds it (what Go's encoding/json prints). */
  readonly oneofs: Readonly<Record<string, string>>
}

const SCALARS = new Set<string>(['string', 'bytes', 'bool', 'int64', 'int32', 'uint32', 'uint64', 'enum'])

/** protobufjs' camelCase conversion of a field name. */
export function camelCase(name: string): string {
  return name.slice(0, 1) + name.slice(1).replace(/_([a-z])(?=[a-z]|$)/g, (_m, c: string) => c.toUpperCase())
}

type FieldSpec = [no: number, name: string, type: string, flags?: 'rep' | `oneof:${string}`]

function message(name: string, specs: FieldSpec[], oneofs: Record<string, string> = {}): MessageDesc {
  const fields: FieldDesc[] = specs.map(([no, fieldName, type, flags]) => {
    const repeated = flags === 'rep'
    const oneof = flags?.startsWith('oneof:') ? flags.slice(6) : undefined
    const map = /^map<string,(\w+)>$/.exec(type)
    const base = { no, name: fieldName, prop: camelCase(fieldName), repeated, ...(oneof ? { oneof } : {}) }
    if (map) {
      const value = map[1] as string
      return SCALARS.has(value)
        ? { ...base, kind: 'map', mapValue: value as ScalarKind }
        : { ...base, kind: 'map', mapValue: 'message', type: value }
    }
    if (SCALARS.has(type)) return { ...base, kind: type as ScalarKind }
    return { ...base, kind: 'message', type }
  })
  return { name, fields, byNo: new Map(fields.map((field) => [field.no, field])), oneofs }
}

const list: MessageDesc[] = [
  message('Op', [
    [1, 'inputs', 'Input', 'rep'],
    [2, 'exec', 'ExecOp', 'oneof:op'],
    [3, 'source', 'SourceOp', 'oneof:op'],
    [4, 'file', 'FileOp', 'oneof:op'],
    [5, 'build', 'BuildOp', 'oneof:op'],
    [6, 'merge', 'MergeOp', 'oneof:op'],
    [7, 'diff', 'DiffOp', 'oneof:op'],
    [8, 'passthrough', 'PassthroughOp', 'oneof:op'],
    [10, 'platform', 'Platform'],
    [11, 'constraints', 'WorkerConstraints'],
  ], { op: 'Op' }),
  message('Input', [[1, 'digest', 'string'], [2, 'index', 'int64']]),
  message('Platform', [
    [1, 'Architecture', 'string'], [2, 'OS', 'string'], [3, 'Variant', 'string'], [4, 'OSVersion', 'string'],
    [5, 'OSFeatures', 'string', 'rep'],
  ]),
  message('WorkerConstraints', [[1, 'filter', 'string', 'rep']]),
  message('ExecOp', [
    [1, 'meta', 'Meta'], [2, 'mounts', 'Mount', 'rep'], [3, 'network', 'enum'], [4, 'security', 'enum'],
    [5, 'secretenv', 'SecretEnv', 'rep'], [6, 'cdiDevices', 'CDIDevice', 'rep'],
  ]),
  message('Meta', [
    [1, 'args', 'string', 'rep'], [2, 'env', 'string', 'rep'], [3, 'cwd', 'string'], [4, 'user', 'string'],
    [5, 'proxy_env', 'ProxyEnv'], [6, 'extraHosts', 'HostIP', 'rep'], [7, 'hostname', 'string'],
    [9, 'ulimit', 'Ulimit', 'rep'], [10, 'cgroupParent', 'string'], [11, 'removeMountStubsRecursive', 'bool'],
    [12, 'validExitCodes', 'int32', 'rep'],
  ]),
  message('HostIP', [[1, 'Host', 'string'], [2, 'IP', 'string']]),
  message('Ulimit', [[1, 'Name', 'string'], [2, 'Soft', 'int64'], [3, 'Hard', 'int64']]),
  message('ProxyEnv', [
    [1, 'http_proxy', 'string'], [2, 'https_proxy', 'string'], [3, 'ftp_proxy', 'string'], [4, 'no_proxy', 'string'],
    [5, 'all_proxy', 'string'],
  ]),
  message('SecretEnv', [[1, 'ID', 'string'], [2, 'name', 'string'], [3, 'optional', 'bool']]),
  message('CDIDevice', [[1, 'name', 'string'], [2, 'optional', 'bool']]),
  message('Mount', [
    [1, 'input', 'int64'], [2, 'selector', 'string'], [3, 'dest', 'string'], [4, 'output', 'int64'],
    [5, 'readonly', 'bool'], [6, 'mountType', 'enum'], [19, 'TmpfsOpt', 'TmpfsOpt'], [20, 'cacheOpt', 'CacheOpt'],
    [21, 'secretOpt', 'SecretOpt'], [22, 'SSHOpt', 'SSHOpt'], [23, 'resultID', 'string'], [24, 'contentCache', 'enum'],
  ]),
  message('TmpfsOpt', [[1, 'size', 'int64']]),
  message('CacheOpt', [[1, 'ID', 'string'], [2, 'sharing', 'enum']]),
  message('SecretOpt', [[1, 'ID', 'string'], [2, 'uid', 'uint32'], [3, 'gid', 'uint32'], [4, 'mode', 'uint32'], [5, 'optional', 'bool']]),
  message('SSHOpt', [[1, 'ID', 'string'], [2, 'uid', 'uint32'], [3, 'gid', 'uint32'], [4, 'mode', 'uint32'], [5, 'optional', 'bool']]),
  message('SourceOp', [[1, 'identifier', 'string'], [2, 'attrs', 'map<string,string>']]),
  message('FileOp', [[2, 'actions', 'FileAction', 'rep']]),
  message('FileAction', [
    [1, 'input', 'int64'], [2, 'secondaryInput', 'int64'], [3, 'output', 'int64'],
    [4, 'copy', 'FileActionCopy', 'oneof:action'], [5, 'mkfile', 'FileActionMkFile', 'oneof:action'],
    [6, 'mkdir', 'FileActionMkDir', 'oneof:action'], [7, 'rm', 'FileActionRm', 'oneof:action'],
    [8, 'symlink', 'FileActionSymlink', 'oneof:action'],
  ], { action: 'Action' }),
  message('FileActionCopy', [
    [1, 'src', 'string'], [2, 'dest', 'string'], [3, 'owner', 'ChownOpt'], [4, 'mode', 'int32'],
    [5, 'followSymlink', 'bool'], [6, 'dirCopyContents', 'bool'], [7, 'attemptUnpackDockerCompatibility', 'bool'],
    [8, 'createDestPath', 'bool'], [9, 'allowWildcard', 'bool'], [10, 'allowEmptyWildcard', 'bool'],
    [11, 'timestamp', 'int64'], [12, 'include_patterns', 'string', 'rep'], [13, 'exclude_patterns', 'string', 'rep'],
    [14, 'alwaysReplaceExistingDestPaths', 'bool'], [15, 'modeStr', 'string'], [16, 'required_paths', 'string', 'rep'],
  ]),
  message('FileActionMkFile', [[1, 'path', 'string'], [2, 'mode', 'int32'], [3, 'data', 'bytes'], [4, 'owner', 'ChownOpt'], [5, 'timestamp', 'int64']]),
  message('FileActionMkDir', [[1, 'path', 'string'], [2, 'mode', 'int32'], [3, 'makeParents', 'bool'], [4, 'owner', 'ChownOpt'], [5, 'timestamp', 'int64']]),
  message('FileActionRm', [[1, 'path', 'string'], [2, 'allowNotFound', 'bool'], [3, 'allowWildcard', 'bool']]),
  message('FileActionSymlink', [[1, 'oldpath', 'string'], [2, 'newpath', 'string'], [3, 'owner', 'ChownOpt'], [4, 'timestamp', 'int64']]),
  message('ChownOpt', [[1, 'user', 'UserOpt'], [2, 'group', 'UserOpt']]),
  message('UserOpt', [[1, 'byName', 'NamedUserOpt', 'oneof:user'], [2, 'byID', 'uint32', 'oneof:user']], { user: 'User' }),
  message('NamedUserOpt', [[1, 'name', 'string'], [2, 'input', 'int64']]),
  message('BuildOp', [[1, 'builder', 'int64'], [2, 'inputs', 'map<string,BuildInput>'], [3, 'def', 'Definition'], [4, 'attrs', 'map<string,string>']]),
  message('BuildInput', [[1, 'input', 'int64']]),
  message('MergeOp', [[1, 'inputs', 'MergeInput', 'rep']]),
  message('MergeInput', [[1, 'input', 'int64']]),
  message('DiffOp', [[1, 'lower', 'LowerDiffInput'], [2, 'upper', 'UpperDiffInput']]),
  message('LowerDiffInput', [[1, 'input', 'int64']]),
  message('UpperDiffInput', [[1, 'input', 'int64']]),
  message('PassthroughOp', [[1, 'id', 'string'], [2, 'outputs', 'int64', 'rep']]),
  message('Definition', [[1, 'def', 'bytes', 'rep'], [2, 'metadata', 'map<string,OpMetadata>'], [3, 'Source', 'Source']]),
  message('OpMetadata', [
    [1, 'ignore_cache', 'bool'], [2, 'description', 'map<string,string>'], [4, 'export_cache', 'ExportCache'],
    [5, 'caps', 'map<string,bool>'], [6, 'progress_group', 'ProgressGroup'], [7, 'linux_resources', 'LinuxResources'],
  ]),
  message('ExportCache', [[1, 'Value', 'bool']]),
  message('ProgressGroup', [[1, 'id', 'string'], [2, 'name', 'string'], [3, 'weak', 'bool']]),
  message('LinuxResources', [
    [1, 'memory', 'int64'], [2, 'memorySwap', 'int64'], [3, 'cpuShares', 'uint64'], [4, 'cpuPeriod', 'uint64'],
    [5, 'cpuQuota', 'int64'], [6, 'cpusetCpus', 'string'], [7, 'cpusetMems', 'string'],
  ]),
  message('Source', [[1, 'locations', 'map<string,Locations>'], [2, 'infos', 'SourceInfo', 'rep']]),
  message('Locations', [[1, 'locations', 'Location', 'rep']]),
  message('Location', [[1, 'sourceIndex', 'int32'], [2, 'ranges', 'Range', 'rep']]),
  message('Range', [[1, 'start', 'Position'], [2, 'end', 'Position']]),
  message('Position', [[1, 'line', 'int32'], [2, 'character', 'int32']]),
  message('SourceInfo', [[1, 'filename', 'string'], [2, 'data', 'bytes'], [3, 'definition', 'Definition'], [4, 'language', 'string']]),
]

/** Every LLB message by name. */
export const MESSAGES: ReadonlyMap<string, MessageDesc> = new Map(list.map((desc) => [desc.name, desc]))

for (const desc of list) {
  for (const field of desc.fields) {
    if (field.type === undefined) continue
    const typeDesc = MESSAGES.get(field.type)
    if (!typeDesc) throw new Error(`pb: ${desc.name}.${field.name} refers to unknown message ${field.type}`)
    ;(field as { typeDesc?: MessageDesc }).typeDesc = typeDesc
  }
}

/** Looks a message up by name; throws on a name the table does not know (a bug, not user input). */
export function messageDesc(name: string): MessageDesc {
  const desc = MESSAGES.get(name)
  if (!desc) throw new Error(`pb: unknown message ${name}`)
  return desc
}
