import type { Engine, EngineServices, Finding, Plan, PolicyReport, Reporter, RunSummary } from '@kiln/core'
import { CliError, ExitCode, InterruptedError } from '../errors.js'
import type { Project } from './project.js'
import { Redactor } from './redaction.js'
import { holdsResult, Scheduler } from './scheduler.js'
import { mark } from '../timing.js'

/** An engine as the runtime uses it; `marshal` (when present) checks a target against the engine's capabilities. */
export interface RuntimeEngine extends Engine {
  marshal?(target: { state: Plan['targets'][number]['state']; nodeId: string }): Promise<unknown>
  /** Starts what a run needs (capabilities, the session) in the background while the run compiles. */
  prepare?(): void
}

export interface RunOptions {
  nodes?: readonly string[]
  keepGoing?: boolean
  signal?: AbortSignal
}

export interface RunOutcome {
  summary: RunSummary
  policy: PolicyReport
}

/**
 * One run: graph → connect → compile (with engine services) → plan → policies (a deny runs nothing) → check every
 * target against the engine's capabilities → read the secrets → schedule on the engine → report.
 */
export class Runtime {
  constructor(
    private readonly connect: () => Promise<RuntimeEngine>,
    private readonly reporter: Reporter,
    private readonly redactor: Redactor = new Redactor(),
    private readonly log: (text: string) => void = () => undefined,
  ) {}

  async run(project: Project, options: RunOptions = {}): Promise<RunOutcome> {
    // Config errors come before engine errors: a broken kiln.yaml says so even with no engine around.
    const graph = project.graph()
    const nodes = project.selectNodes(options.nodes ?? [])
    // Secrets named in the config are checked before the engine is contacted: a missing one is a user error.
    const selected = nodes === undefined ? graph.order : [...new Set(nodes.flatMap((id) => [...graph.upstream(id), id]))]
    const named = selected.flatMap((id) => graph.node(id)?.secrets.map((site) => site.name) ?? [])
    for (const value of (await project.config.secrets.resolve(named)).values()) this.redactor.add(value)
    const engine = await this.connect()
    engine.prepare?.()
    try {
      const { plan, policy } = await project.plan({ ...(nodes ? { nodes } : {}), engine: engine.services })
      for (const finding of policy.findings) this.log(formatFinding(finding))
      if (policy.denied) {
        const denied = policy.findings.filter((finding) => finding.severity === 'deny').length
        throw new CliError(`policy denied the run (${denied} finding${denied === 1 ? '' : 's'}); nothing ran`, ExitCode.failed)
      }
      // Every target is checked against the engine before anything runs; the definitions also say which targets
      // hold a dependency's whole solve and so may start alongside it.
      const definitions = new Map<string, unknown>()
      if (engine.marshal) for (const target of plan.targets) definitions.set(target.id, await engine.marshal(target))
      const secrets = await project.config.secrets.resolve(project.secretsOf(plan))
      for (const value of secrets.values()) this.redactor.add(value)
      const scheduler = new Scheduler(engine, {
        emit: (event) => this.reporter.onEvent(event),
        redactor: this.redactor,
        ...(options.keepGoing ? { keepGoing: true } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        solvedWithin: (target, dependency) => holdsResult(definitions.get(target.id), definitions.get(dependency.id)),
        secrets: {
          resolve: async (name) => {
            const value = secrets.get(name) ?? (await project.config.secrets.resolve([name])).get(name)
            if (value === undefined) throw new CliError(`secret "${name}" is not available`, ExitCode.usage)
            return value
          },
        },
        messages: (nodeId) => {
          const type = project.graph().node(nodeId)?.type
          return (type ? project.registry.get(type)?.nodeType.meta?.messages : undefined) ?? {}
        },
      })
      mark('targets checked against the engine')
      const summary = await scheduler.run(plan)
      mark('run finished')
      await this.reporter.close?.(summary)
      if (options.signal?.aborted) throw new InterruptedError('interrupted: the run was cancelled on the engine')
      return { summary, policy }
    } finally {
      await engine.close()
    }
  }
}

/** Engine services that connect on first use, for planning without an engine unless a node type needs one. */
export function lazyServices(connect: () => Promise<Engine>): EngineServices {
  let engine: Promise<Engine> | undefined
  const get = () => (engine ??= connect())
  return {
    readFile: async (state, path) => (await get()).services.readFile(state, path),
    readDir: async (state, path) => (await get()).services.readDir(state, path),
    resolveImageConfig: async (ref, options) => (await get()).services.resolveImageConfig(ref, options),
    solveFrontend: async (request) => (await get()).services.solveFrontend(request),
  }
}

export function formatFinding(finding: Finding): string {
  return `${finding.severity}: [${finding.rule}]${finding.nodeId === undefined ? '' : ` node "${finding.nodeId}":`} ${finding.message}`
}
