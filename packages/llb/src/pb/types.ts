/**
 * TypeScript shapes of the LLB protobuf messages (package `pb`), as the encoder takes them and the decoder returns
 * them. Property names are protobufjs' camelCase of the .proto names. An absent property is an unset field; the
 * encoder omits proto3 defaults itself (buildkit-wire.md §3.1), so `0`, `''` and `false` may be given or left out.
 */

/** A 64-bit integer: a number when it is a safe integer, a bigint otherwise (e.g. nanosecond timestamps). */
export type Int64 = number | bigint

/** `pb.Op`: one vertex. Exactly one of the `op` oneof members is set, except on the terminal op. */
export interface PbOp {
  inputs?: PbInput[]
  exec?: PbExecOp
  source?: PbSourceOp
  file?: PbFileOp
  build?: PbBuildOp
  merge?: PbMergeOp
  diff?: PbDiffOp
  passthrough?: PbPassthroughOp
  platform?: PbPlatform
  constraints?: PbWorkerConstraints
}

export interface PbInput { digest?: string; index?: number }
export interface PbPlatform { Architecture?: string; OS?: string; Variant?: string; OSVersion?: string; OSFeatures?: string[] }
export interface PbWorkerConstraints { filter?: string[] }

/** `pb.NetMode`: UNSET (sandbox) 0, HOST 1, NONE 2. */
export const NetMode = { UNSET: 0, HOST: 1, NONE: 2 } as const
/** `pb.SecurityMode`: SANDBOX 0, INSECURE 1. */
export const SecurityMode = { SANDBOX: 0, INSECURE: 1 } as const
/** `pb.MountType`. */
export const MountType = { BIND: 0, SECRET: 1, SSH: 2, CACHE: 3, TMPFS: 4 } as const
/** `pb.CacheSharingOpt`. */
export const CacheSharingOpt = { SHARED: 0, PRIVATE: 1, LOCKED: 2 } as const

export interface PbExecOp {
  meta?: PbMeta
  mounts?: PbMount[]
  network?: number
  security?: number
  secretenv?: PbSecretEnv[]
  cdiDevices?: { name?: string; optional?: boolean }[]
}

export interface PbMeta {
  args?: string[]
  env?: string[]
  cwd?: string
  user?: string
  proxyEnv?: PbProxyEnv
  extraHosts?: PbHostIP[]
  hostname?: string
  ulimit?: PbUlimit[]
  cgroupParent?: string
  removeMountStubsRecursive?: boolean
  validExitCodes?: number[]
}

export interface PbHostIP { Host?: string; IP?: string }
export interface PbUlimit { Name?: string; Soft?: Int64; Hard?: Int64 }
export interface PbProxyEnv { httpProxy?: string; httpsProxy?: string; ftpProxy?: string; noProxy?: string; allProxy?: string }
export interface PbSecretEnv { ID?: string; name?: string; optional?: boolean }

export interface PbMount {
  input?: number
  selector?: string
  dest?: string
  output?: number
  readonly?: boolean
  mountType?: number
  TmpfsOpt?: { size?: Int64 }
  cacheOpt?: { ID?: string; sharing?: number }
  secretOpt?: PbSecretOpt
  SSHOpt?: PbSecretOpt
  resultID?: string
  contentCache?: number
}

/** `pb.SecretOpt` and `pb.SSHOpt` share this layout. */
export interface PbSecretOpt { ID?: string; uid?: number; gid?: number; mode?: number; optional?: boolean }

export interface PbSourceOp { identifier?: string; attrs?: Record<string, string> }

export interface PbFileOp { actions?: PbFileAction[] }

export interface PbFileAction {
  input?: number
  secondaryInput?: number
  output?: number
  copy?: PbFileActionCopy
  mkfile?: PbFileActionMkFile
  mkdir?: PbFileActionMkDir
  rm?: PbFileActionRm
  symlink?: { oldpath?: string; newpath?: string; owner?: PbChownOpt; timestamp?: Int64 }
}

export interface PbFileActionCopy {
  src?: string
  dest?: string
  owner?: PbChownOpt
  mode?: number
  followSymlink?: boolean
  dirCopyContents?: boolean
  attemptUnpackDockerCompatibility?: boolean
  createDestPath?: boolean
  allowWildcard?: boolean
  allowEmptyWildcard?: boolean
  timestamp?: Int64
  includePatterns?: string[]
  excludePatterns?: string[]
  alwaysReplaceExistingDestPaths?: boolean
  modeStr?: string
  requiredPaths?: string[]
}

export interface PbFileActionMkFile { path?: string; mode?: number; data?: Uint8Array; owner?: PbChownOpt; timestamp?: Int64 }
export interface PbFileActionMkDir { path?: string; mode?: number; makeParents?: boolean; owner?: PbChownOpt; timestamp?: Int64 }
export interface PbFileActionRm { path?: string; allowNotFound?: boolean; allowWildcard?: boolean }
export interface PbChownOpt { user?: PbUserOpt; group?: PbUserOpt }
/** `pb.UserOpt`: a oneof; `byID: 0` is still written (§3.1 rule 3). */
export interface PbUserOpt { byName?: { name?: string; input?: number }; byID?: number }

export interface PbBuildOp { builder?: number; inputs?: Record<string, { input?: number }>; def?: PbDefinition; attrs?: Record<string, string> }
export interface PbMergeOp { inputs?: { input?: number }[] }
export interface PbDiffOp { lower?: { input?: number }; upper?: { input?: number } }
export interface PbPassthroughOp { id?: string; outputs?: number[] }

export interface PbDefinition {
  def?: Uint8Array[]
  metadata?: Record<string, PbOpMetadata>
  Source?: unknown
}

export interface PbOpMetadata {
  ignoreCache?: boolean
  description?: Record<string, string>
  exportCache?: { Value?: boolean }
  caps?: Record<string, boolean>
  progressGroup?: { id?: string; name?: string; weak?: boolean }
  linuxResources?: Record<string, Int64 | string>
}
