/** Typed progress events decoded from `Control.Status` (wire doc 2.2). */
import type { control } from './proto.js'
import { toDate, toNumber } from './proto.js'

export interface VertexEvent {
  type: 'vertex'
  digest: string
  name: string
  inputs: string[]
  cached: boolean
  started?: Date | undefined
  completed?: Date | undefined
  error?: string | undefined
  progressGroup?: { id: string; name: string; weak: boolean } | undefined
}

export interface VertexStatusEvent {
  type: 'status'
  id: string
  vertex: string
  name: string
  current: number
  total: number
  timestamp?: Date | undefined
  started?: Date | undefined
  completed?: Date | undefined
}

export interface VertexLogEvent {
  type: 'log'
  vertex: string
  /** 1 = stdout, 2 = stderr. */
  stream: number
  data: Uint8Array
  timestamp?: Date | undefined
}

export interface VertexWarningEvent {
  type: 'warning'
  vertex: string
  level: number
  short: string
  detail: string[]
  url: string
}

export type SolveEvent = VertexEvent | VertexStatusEvent | VertexLogEvent | VertexWarningEvent

/** Flattens one StatusResponse into events, in the order vertices, statuses, logs, warnings. */
export function statusEvents(response: control.StatusResponse): SolveEvent[] {
  const out: SolveEvent[] = []
  for (const vertex of response.vertexes ?? []) {
    const event: VertexEvent = {
      type: 'vertex',
      digest: vertex.digest ?? '',
      name: vertex.name ?? '',
      inputs: vertex.inputs ?? [],
      cached: vertex.cached ?? false,
    }
    const started = toDate(vertex.started)
    const completed = toDate(vertex.completed)
    if (started) event.started = started
    if (completed) event.completed = completed
    if (vertex.error) event.error = vertex.error
    if (vertex.progressGroup?.id) event.progressGroup = { id: vertex.progressGroup.id, name: vertex.progressGroup.name ?? '', weak: vertex.progressGroup.weak ?? false }
    out.push(event)
  }
  for (const status of response.statuses ?? []) {
    out.push({
      type: 'status',
      id: status.ID ?? '',
      vertex: status.vertex ?? '',
      name: status.name ?? '',
      current: toNumber(status.current),
      total: toNumber(status.total),
      timestamp: toDate(status.timestamp),
      started: toDate(status.started),
      completed: toDate(status.completed),
    })
  }
  for (const log of response.logs ?? []) {
    out.push({ type: 'log', vertex: log.vertex ?? '', stream: toNumber(log.stream), data: log.msg ?? new Uint8Array(), timestamp: toDate(log.timestamp) })
  }
  for (const warning of response.warnings ?? []) {
    out.push({
      type: 'warning',
      vertex: warning.vertex ?? '',
      level: toNumber(warning.level),
      short: Buffer.from(warning.short ?? []).toString(),
      detail: (warning.detail ?? []).map((line) => Buffer.from(line).toString()),
      url: warning.url ?? '',
    })
  }
  return out
}
