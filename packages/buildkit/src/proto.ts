// The protobuf edge: short names for the generated message classes (generated/proto.js, from proto/buildkit).
import Long from 'long'
import { fsutil, google, grpc, moby, pb } from '../generated/proto.js'

export import control = moby.buildkit.v1
export import types = moby.buildkit.v1.types
export import gateway = moby.buildkit.v1.frontend
export import filesync = moby.filesync.v1
export import secrets = moby.buildkit.secrets.v1
export import sshforward = moby.sshforward.v1
export import fstypes = fsutil.types
export import health = grpc.health.v1
export import rpc = google.rpc
export { pb, google, Long }

/** An int64 as the generated code may hand it back (a Long when `long` is loaded, else a number). */
export type Int64 = number | Long | null | undefined

/** Converts a decoded int64 to a JS number (exact up to 2^53, which sizes and counters stay under). */
export function toNumber(value: Int64): number {
  if (value === null || value === undefined) return 0
  return typeof value === 'number' ? value : value.toNumber()
}

/** Converts a decoded int64 to a bigint, for nanosecond times that exceed 2^53. */
export function toBigInt(value: Int64): bigint {
  if (value === null || value === undefined) return 0n
  return typeof value === 'number' ? BigInt(value) : BigInt(value.toString())
}

/** Converts a bigint to a Long for encoding an int64 without losing precision. */
export function fromBigInt(value: bigint): Long {
  return Long.fromBits(Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n)))
}

/** A google.protobuf.Timestamp as a Date (millisecond precision), or undefined when unset. */
export function toDate(timestamp: { seconds?: Int64; nanos?: number | null } | null | undefined): Date | undefined {
  if (!timestamp) return undefined
  return new Date(toNumber(timestamp.seconds) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6))
}
