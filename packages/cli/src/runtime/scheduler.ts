import { setMaxListeners } from 'node:events'
import {
  formatMessage,
  isCoreError,
  type CoreError,
  type Engine,
  type Finding,
  type JsonValue,
  type KilnEvent,
  type Plan,
  type RunResult,
  type RunStatus,
  type RunSummary,
  type SecretSource,
  type Target,
  type TargetResult,
} from '@kiln/core'
import { Redactor } from './redaction.js'

export interface SchedulerOptions {
  /** Finish independent branches after a failure instead of cancelling the rest. */
  keepGoing?: boolean
  /** Ctrl-C: cancels every running solve on the engine. */
  signal?: AbortSignal
  secrets?: SecretSource
  /** Receives every event, already redacted. */
  emit: (event: KilnEvent) => void
  redactor?: Redactor
  /** The `meta.messages` of a node's type, for findings of content checks (`inspect`). */
  messages?: (nodeId: string) => Readonly<Record<string, string>>
  now?: () => number
  /**
   * Whether `target`'s solve holds all of `dependency`'s (its LLB contains the dependency's result), so the engine
   * cannot get to `target`'s own steps unless the dependency's succeed. Such a target starts while the dependency
   * is still running (BuildKit shares the common vertices): a chain of cached nodes costs one solve's time, not
   * one per link. It is reported as started, and its outcome counted, only once the dependency succeeded; if the
   * dependency fails, it is cancelled and skipped as usual. Without this, every target waits for its dependencies.
   */
  solvedWithin?: (target: Target, dependency: Target) => boolean
}

type TargetState = 'pending' | 'running' | 'ok' | 'failed' | 'skipped'

interface TargetRecord {
  target: Target
  state: TargetState
  cached: boolean
  result?: TargetResult
  error?: { code?: string; message: string }
  reason?: string
  /** Started before its dependencies succeeded, and not yet announced: its events wait in `held`. */
  early?: boolean
  held?: KilnEvent[]
  /** The solve's outcome, applied when the target is announced (at once for targets started normally). */
  outcome?: { result: TargetResult } | { error: unknown }
  /** Cancels this target alone (an early start whose dependency failed). */
  abort?: AbortController
}

interface NodeRecord {
  id: string
  targets: TargetRecord[]
  startedAt?: number
  finishedAt?: number
  values: Record<string, JsonValue>
  reported: boolean
}

/**
 * Runs a plan's targets on an engine: every target whose dependencies succeeded starts at once (BuildKit shares the
 * common vertices of concurrent solves). Fail-fast by default: the first failure cancels the running solves and
 * skips the rest; with `keepGoing` only what depends on the failure is skipped. Publish targets depend on every
 * build and check target (the plan says so), so they start only after all checks passed.
 */
export class Scheduler {
  private readonly redactor: Redactor
  private readonly now: () => number

  constructor(
    private readonly engine: Engine,
    private readonly options: SchedulerOptions,
  ) {
    this.redactor = options.redactor ?? new Redactor()
    this.now = options.now ?? Date.now
  }

  async run(plan: Plan): Promise<RunSummary> {
    const started = this.now()
    const controller = new AbortController()
    // Every running solve listens on this signal; there may be many.
    setMaxListeners(0, controller.signal)
    const outer = this.options.signal
    const onAbort = () => controller.abort(outer?.reason)
    if (outer?.aborted) controller.abort(outer.reason)
    else outer?.addEventListener('abort', onAbort, { once: true })

    const targets = new Map<string, TargetRecord>(plan.targets.map((target) => [target.id, { target, state: 'pending', cached: false }]))
    const nodes = new Map<string, NodeRecord>(
      plan.nodes.map((node) => [node.id, { id: node.id, targets: node.targets.flatMap((id) => targets.get(id) ?? []), values: {}, reported: false }]),
    )
    const emit = (event: KilnEvent) => this.options.emit(this.redactor.event(event))
    emit({ type: 'run.started', time: this.now(), nodes: [...nodes.keys()] })
    for (const node of nodes.values()) emit({ type: 'node.queued', time: this.now(), nodeId: node.id })

    let failedFast = false
    const running = new Map<string, Promise<void>>()

    const finishNode = (node: NodeRecord) => {
      if (node.reported || node.targets.some((record) => record.state === 'pending' || record.state === 'running')) return
      node.reported = true
      node.finishedAt ??= this.now()
      const failed = node.targets.find((record) => record.state === 'failed')
      const durationMs = node.startedAt === undefined ? 0 : node.finishedAt - node.startedAt
      if (failed) {
        emit({ type: 'node.failed', time: this.now(), nodeId: node.id, durationMs, error: failed.error ?? { message: 'failed' } })
      } else if (node.targets.length > 0 && node.targets.every((record) => record.state === 'skipped')) {
        emit({ type: 'node.skipped', time: this.now(), nodeId: node.id, reason: node.targets[0]?.reason ?? 'skipped' })
      } else if (node.targets.some((record) => record.state === 'skipped')) {
        const skipped = node.targets.find((record) => record.state === 'skipped')
        emit({ type: 'node.skipped', time: this.now(), nodeId: node.id, reason: skipped?.reason ?? 'skipped' })
      } else {
        const cached = node.targets.length > 0 && node.targets.every((record) => record.cached)
        emit({ type: 'node.done', time: this.now(), nodeId: node.id, durationMs, cached, ...(Object.keys(node.values).length > 0 ? { values: node.values } : {}) })
      }
    }

    const skip = (record: TargetRecord, reason: string) => {
      const unannounced = record.state === 'running' && record.early === true
      if (record.state !== 'pending' && !unannounced) return
      if (unannounced) record.abort?.abort(new Error(`cancelled: ${reason}`))
      record.state = 'skipped'
      record.reason = reason
      const node = nodes.get(record.target.nodeId)
      if (node) finishNode(node)
    }

    const skipDependents = (failedId: string, reason: string) => {
      // Everything downstream of the failure, transitively.
      let changed = true
      const blocked = new Set([failedId])
      while (changed) {
        changed = false
        for (const record of targets.values()) {
          if ((record.state !== 'pending' && !(record.state === 'running' && record.early)) || blocked.has(record.target.id)) continue
          if (record.target.dependsOn.some((id) => blocked.has(id))) {
            blocked.add(record.target.id)
            changed = true
          }
        }
      }
      blocked.delete(failedId)
      for (const id of blocked) {
        const record = targets.get(id)
        if (record) skip(record, reason)
      }
    }

    const announce = (record: TargetRecord) => {
      record.early = false
      const node = nodes.get(record.target.nodeId)
      if (node && node.startedAt === undefined) {
        node.startedAt = this.now()
        emit({ type: 'node.started', time: node.startedAt, nodeId: node.id, targetId: record.target.id })
      }
      for (const event of record.held ?? []) emit(event)
      record.held = undefined
    }

    // Applies a finished solve's outcome to an announced target.
    const settle = (record: TargetRecord) => {
      const outcome = record.outcome
      if (!outcome || record.state !== 'running' || record.early) return
      const node = nodes.get(record.target.nodeId)
      if ('result' in outcome) {
        record.state = 'ok'
        record.result = outcome.result
        record.cached = outcome.result.cached
        if (node) Object.assign(node.values, outcome.result.values)
      } else if (controller.signal.aborted && (failedFast || outer?.aborted)) {
        record.state = 'skipped'
        record.reason = outer?.aborted ? 'interrupted' : 'cancelled after a failure'
      } else {
        record.state = 'failed'
        record.error = describeError(this.redactor.deep(outcome.error))
        const reason = `${record.target.nodeId} failed`
        if (this.options.keepGoing) {
          skipDependents(record.target.id, reason)
        } else {
          failedFast = true
          for (const other of targets.values()) skip(other, `cancelled: ${reason}`)
          controller.abort(new Error(`cancelled: ${reason}`))
        }
      }
      if (node) {
        if (!node.targets.some((other) => other.state === 'pending' || other.state === 'running')) node.finishedAt = this.now()
        finishNode(node)
      }
    }

    const start = (record: TargetRecord, early: boolean) => {
      record.state = 'running'
      record.early = early
      const abort = new AbortController()
      setMaxListeners(0, abort.signal)
      const onRunAbort = () => abort.abort(controller.signal.reason)
      controller.signal.addEventListener('abort', onRunAbort, { once: true })
      record.abort = abort
      if (early) record.held = []
      else announce(record)
      const targetEmit = (event: KilnEvent) => (record.early ? record.held?.push(event) : emit(event))
      const promise = this.runTarget(record, targetEmit, abort.signal).then(
        (result) => void (record.outcome = { result }),
        (error: unknown) => void (record.outcome = { error }),
      )
      running.set(
        record.target.id,
        promise.finally(() => {
          controller.signal.removeEventListener('abort', onRunAbort)
          running.delete(record.target.id)
          settle(record)
        }),
      )
    }

    // A target may start early when every dependency not yet done is running and solved within it.
    const overlaps = (record: TargetRecord, dependencies: (TargetRecord | undefined)[]) => {
      const within = this.options.solvedWithin
      if (!within || record.target.phase === 'publish' || !record.target.cache) return false
      return dependencies.every(
        (dependency) =>
          dependency === undefined ||
          dependency.state === 'ok' ||
          (dependency.state === 'running' &&
            // A dependency with side effects of its own after the solve (content checks), or one solved without
            // cache, must finish first: its steps must not run twice, nor the target run past a failed check.
            dependency.target.phase !== 'publish' &&
            dependency.target.cache &&
            dependency.target.inspect === undefined &&
            within(record.target, dependency.target)),
      )
    }

    const schedule = () => {
      if (controller.signal.aborted) {
        for (const record of targets.values()) skip(record, outer?.aborted ? 'interrupted' : 'cancelled')
        return
      }
      for (let changed = true; changed; ) {
        changed = false
        for (const record of targets.values()) {
          const waiting = record.state === 'running' && record.early === true
          if (record.state !== 'pending' && !waiting) continue
          const dependencies = record.target.dependsOn.map((id) => targets.get(id))
          const blocker = dependencies.find((dependency) => dependency?.state === 'failed' || dependency?.state === 'skipped')
          if (blocker) {
            skip(record, blocker.state === 'failed' ? `${blocker.target.nodeId} failed` : `${blocker.target.nodeId} was skipped`)
            changed = true
            continue
          }
          const ready = dependencies.every((dependency) => dependency === undefined || dependency.state === 'ok')
          if (waiting) {
            if (!ready) continue
            announce(record)
            settle(record)
            changed = true
          } else if (ready) {
            start(record, false)
            changed = true
          } else if (overlaps(record, dependencies)) {
            start(record, true)
            changed = true
          }
        }
      }
    }

    // Nodes without targets (values known at compile time) are done at once.
    for (const node of nodes.values()) if (node.targets.length === 0) finishNode(node)
    schedule()
    while (running.size > 0) {
      await Promise.race(running.values())
      schedule()
    }
    // Anything left pending could not start (its dependencies never succeeded).
    for (const record of targets.values()) skip(record, 'a dependency did not succeed')
    outer?.removeEventListener('abort', onAbort)

    const results: RunResult[] = [...nodes.values()].map((node) => this.nodeResult(node))
    const ok = results.every((result) => result.status === 'ok' || result.status === 'cached')
    const durationMs = this.now() - started
    emit({ type: 'run.finished', time: this.now(), ok, durationMs })
    return { ok, durationMs, results }
  }

  private async runTarget(record: TargetRecord, emit: (event: KilnEvent) => void, signal: AbortSignal): Promise<TargetResult> {
    const { target } = record
    const result = await this.engine.run(target, {
      signal,
      emit,
      ...(this.options.secrets === undefined ? {} : { secrets: this.options.secrets }),
    })
    if (target.inspect) await this.inspect(target, emit)
    return result
  }

  /** Content checks: read the solved result through the engine; a `deny` finding fails the node. */
  private async inspect(target: Target, emit: (event: KilnEvent) => void): Promise<void> {
    const findings: Finding[] = []
    const services = this.engine.services
    await target.inspect?.({
      nodeId: target.nodeId,
      readFile: (path) => services.readFile(target.state, path),
      readDir: (path) => services.readDir(target.state, path),
      ...(target.image === undefined ? {} : { imageConfig: target.image.config }),
      report: (descriptor) => {
        const messages = this.options.messages?.(target.nodeId) ?? {}
        const template = messages[descriptor.messageId] ?? descriptor.messageId
        findings.push({
          rule: `${target.nodeId}/${descriptor.messageId}`,
          severity: descriptor.severity ?? 'deny',
          message: formatMessage(template, descriptor.data),
          nodeId: target.nodeId,
          targetId: target.id,
          messageId: descriptor.messageId,
          ...(descriptor.data === undefined ? {} : { data: descriptor.data }),
        })
      },
    })
    for (const finding of findings) {
      emit({ type: 'node.log', time: this.now(), nodeId: target.nodeId, stream: 'stderr', text: `${finding.severity}: ${finding.message}\n` })
    }
    const denied = findings.filter((finding) => finding.severity === 'deny')
    if (denied.length > 0) {
      throw Object.assign(new Error(`check failed: ${denied.map((finding) => finding.message).join('; ')}`), { code: 'POLICY_DENIED' })
    }
  }

  private nodeResult(node: NodeRecord): RunResult {
    const failed = node.targets.find((record) => record.state === 'failed')
    const skipped = node.targets.some((record) => record.state === 'skipped')
    const status: RunStatus = failed ? 'failed' : skipped ? 'skipped' : node.targets.length > 0 && node.targets.every((record) => record.cached) ? 'cached' : 'ok'
    return {
      nodeId: node.id,
      status,
      durationMs: node.startedAt === undefined || node.finishedAt === undefined ? 0 : node.finishedAt - node.startedAt,
      ...(node.startedAt === undefined ? {} : { startedAt: node.startedAt }),
      ...(node.finishedAt === undefined ? {} : { finishedAt: node.finishedAt }),
      values: node.values,
      ...(failed?.error === undefined ? {} : { error: failed.error }),
    }
  }
}

function describeError(error: unknown): { code?: string; message: string } {
  if (isCoreError(error)) return { code: (error as CoreError).code, message: error.message }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return { ...(typeof code === 'string' ? { code } : {}), message: error.message }
  }
  return { message: String(error) }
}

/**
 * Whether a marshalled LLB definition holds another's result op, so solving the first solves the second too.
 * Duck-typed on `@kiln/llb`'s Definition (`ops` by digest, result `digest`), whichever copy made it.
 */
export function holdsResult(outer: unknown, inner: unknown): boolean {
  const ops = typeof outer === 'object' && outer !== null ? (outer as { ops?: unknown }).ops : undefined
  const digest = typeof inner === 'object' && inner !== null ? (inner as { digest?: unknown }).digest : undefined
  return ops instanceof Map && typeof digest === 'string' && ops.has(digest)
}
