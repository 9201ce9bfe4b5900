export { BuildkitClient, connect, Gateway } from './client.js'
export type {
  BuildRequest,
  CacheEntry,
  Capability,
  ConnectOptions,
  DefinitionInput,
  EngineCapabilities,
  Export,
  ExporterType,
  FileStat,
  GatewayRef,
  GatewayReturn,
  GatewaySolveRequest,
  Platform,
  SolveRequest,
  SolveResult,
  WorkerInfo,
} from './client.js'
export { parseEngineAddress, parseDockerHost, resolveEngineAddress, PROJECT_ENGINE_SOCKET } from './address.js'
export type { AddressSource, EngineAddress, TlsOptions } from './address.js'
export { BuildkitError, isBuildkitError, GrpcStatus } from './errors.js'
export type { BuildkitErrorCode, BuildkitErrorFields } from './errors.js'
export type { SolveEvent, VertexEvent, VertexLogEvent, VertexStatusEvent, VertexWarningEvent } from './events.js'
export { checkDefinition, definitionDigests } from './definition.js'
export { Session, newId } from './session/session.js'
export type { ExportTarget, LocalDir, SessionOptions } from './session/session.js'
export type { SecretProvider, SecretSource } from './session/secrets.js'
export { secretProvider } from './session/secrets.js'
export type { AuthProvider, Credentials } from './session/auth.js'
export { dockerConfigAuth } from './session/auth.js'
export { PatternMatcher, parseIgnoreFile, cleanPath } from './session/patterns.js'
export { walk, compareWalkOrder, resolveFollowPaths } from './session/walk.js'
export type { WalkEntry, WalkOptions } from './session/walk.js'
export { GoMode, unixToGoMode, goToUnixMode } from './session/filemode.js'
export * from './docker/index.js'
