/**
 * Test helpers: a plugin whose node types compile to fake states, and a fake engine for scheduling tests.
 * Scheduling logic is tested on this fake; real behaviour is proven on the real engine in *.e2e.test.ts.
 */
import { definePlugin, defineNodeType, ref, secretRef, z, type Engine, type EngineCapabilities, type KilnEvent, type RunTargetOptions, type Target, type TargetResult } from '@kiln/core'
import { createFakeEngine, fakeState, stateLabel } from '@kiln/core/testing'
import type { ModuleLoader } from './plugins/discover.js'

const step = defineNodeType({
  kind: 'step',
  description: 'A test step',
  schema: z.strictObject({
    inputs: z.array(ref('filesystem')).default([]),
    mounts: z.record(z.string(), ref('filesystem')).default({}),
    script: z.string().optional(),
    secrets: z.array(secretRef()).default([]),
    phase: z.enum(['build', 'check', 'publish']).default('build'),
    network: z.enum(['none', 'host']).default('none'),
  }),
  phase: (config) => config.phase,
  compile(node, ctx) {
    const state = fakeState(node.id)
    for (const input of node.config.inputs) ctx.input(input)
    for (const mount of Object.values(node.config.mounts)) ctx.input(mount)
    const secrets = node.config.secrets.map((secret) => ctx.secret(secret).name)
    if (secrets.length > 0 || node.config.phase !== 'build') {
      ctx.target({ kind: node.config.phase === 'publish' ? 'publish' : node.config.phase === 'check' ? 'check' : 'build', state, secrets, description: node.config.script ?? node.id })
    }
    return { default: { kind: 'filesystem' as const, state } }
  },
})

const value = defineNodeType({
  kind: 'value',
  schema: z.strictObject({ value: z.string() }),
  outputs: { default: 'value' },
  compile(node) {
    return { default: { kind: 'value' as const, known: true as const, value: node.config.value } }
  },
})

export function testPlugin(options: { name?: string; kinds?: ('step' | 'value')[] } = {}) {
  const kinds = options.kinds ?? ['step', 'value']
  return definePlugin({
    meta: { name: options.name ?? 'kiln-plugin-test', version: '1.0.0' },
    apiVersion: 'v1',
    nodeTypes: [step, value].filter((type) => kinds.includes(type.kind as 'step' | 'value')),
  })
}

/** Resolves every package name in `modules` to itself; importing gives `{ default: factory }`. */
export function fakeLoader(modules: Record<string, unknown>): ModuleLoader {
  return {
    resolve: (name) => (name in modules ? name : undefined),
    import: async (name) => ({ default: modules[name] }),
  }
}

export interface FakeBehaviour {
  /** Milliseconds the solve takes. */
  duration?: number
  fail?: string
  cached?: boolean
  logs?: string[]
  values?: Record<string, string>
}

/** An engine that "solves" targets by waiting, logging and failing as told, recording the order of calls. */
export class FakeEngine implements Engine {
  readonly started: string[] = []
  readonly finished: string[] = []
  readonly cancelled: string[] = []
  readonly secretsSeen: Record<string, string> = {}
  readonly services = createFakeEngine()
  private running = 0
  maxConcurrent = 0

  constructor(private readonly behaviour: Record<string, FakeBehaviour> = {}) {}

  async capabilities(): Promise<EngineCapabilities> {
    return { name: 'fake', version: '0.0.0', caps: [], disabledCaps: [], exporters: ['local', 'tar'], multipleExporters: true, platforms: [] }
  }

  async run(target: Target, options: RunTargetOptions): Promise<TargetResult> {
    const label = stateLabel(target.state) ?? target.nodeId
    const behaviour = this.behaviour[label] ?? {}
    this.started.push(target.id)
    this.running += 1
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running)
    try {
      for (const name of target.secrets) {
        const bytes = await options.secrets?.resolve(name)
        if (bytes) this.secretsSeen[name] = new TextDecoder().decode(bytes)
      }
      options.emit({ type: 'node.progress', time: Date.now(), nodeId: target.nodeId, vertex: `sha256:${label}`, name: `[${label}] RUN`, started: Date.now() })
      for (const text of behaviour.logs ?? []) options.emit({ type: 'node.log', time: Date.now(), nodeId: target.nodeId, stream: 'stdout', text })
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer)
          this.cancelled.push(target.id)
          reject(Object.assign(new Error('context canceled'), { code: 'BUILDKIT_CANCELLED' }))
        }
        const timer = setTimeout(() => {
          options.signal?.removeEventListener('abort', onAbort)
          resolve()
        }, behaviour.duration ?? 5)
        options.signal?.addEventListener('abort', onAbort, { once: true })
      })
      if (behaviour.fail !== undefined) throw new Error(behaviour.fail)
      this.finished.push(target.id)
      return { cached: behaviour.cached ?? false, exporterResponse: {}, values: behaviour.values ?? {} }
    } finally {
      this.running -= 1
    }
  }

  async close(): Promise<void> {}
}

/** Collects events. */
export function eventLog(): { events: KilnEvent[]; emit: (event: KilnEvent) => void } {
  const events: KilnEvent[] = []
  return { events, emit: (event) => events.push(event) }
}
