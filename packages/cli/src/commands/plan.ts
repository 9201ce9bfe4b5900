import { isCoreError, type Plan, type PolicyReport } from '@kiln/core'
import { isState } from '@kiln/llb'
import { findCause, isEngineUnavailable } from '../errors.js'
import type { CommandContext } from '../main.js'
import { formatFinding, lazyServices } from '../runtime/runtime.js'
import { resolveCommand } from './shared.js'

export interface TargetView {
  id: string
  kind: string
  phase: string
  digest: string | undefined
  network: string[]
  exporter: string | undefined
  secrets: string[]
  cache: boolean
  description?: string
}

const NETWORK = ['sandbox', 'host', 'none']

/** Marshals a target's state (no engine needed) for its digest and the network modes of its exec ops. */
export function describeTarget(target: Plan['targets'][number]): TargetView {
  let digest: string | undefined
  const network = new Set<string>()
  if (isState(target.state)) {
    const definition = target.state.marshal()
    digest = definition.digest
    for (const op of definition.ops.values()) if (op.op.exec) network.add(NETWORK[op.op.exec.network ?? 0] ?? 'sandbox')
  }
  const exporter = target.exporter ? `${target.exporter.type}${'dest' in target.exporter ? ` ${target.exporter.dest}` : 'name' in target.exporter && target.exporter.name ? ` ${target.exporter.name}` : ''}` : undefined
  return {
    id: target.id,
    kind: target.kind,
    phase: target.phase,
    digest,
    network: [...network],
    exporter,
    secrets: [...target.secrets],
    cache: target.cache,
    ...(target.description === undefined ? {} : { description: target.description }),
  }
}

/** `kiln plan [node…]`: what would run, per node, without running anything. */
export async function planCommand(context: CommandContext, nodes: string[] = []): Promise<number> {
  const { loadProject, connectEngine, out } = resolveCommand(context)
  const project = await loadProject()
  let engine: Awaited<ReturnType<typeof connectEngine>> | undefined
  const services = lazyServices(async () => (engine ??= await connectEngine(project.config.projectDir)))
  let planned: { plan: Plan; policy: PolicyReport }
  try {
    planned = await project.plan({ nodes, engine: services })
  } catch (error) {
    // Without an engine, plan what can be planned: image configs stay unresolved.
    const unavailable = findCause(error, isEngineUnavailable)
    if (!unavailable) throw error
    context.io.stderr.write(`note: no engine at ${unavailable.address ?? 'the default address'}; planning without it (image configs not resolved)\n`)
    planned = await project.plan({ nodes })
  } finally {
    await engine?.close()
  }
  const { plan, policy } = planned
  const views = new Map(plan.targets.map((target) => [target.id, describeTarget(target)]))
  if (context.options.format === 'json') {
    out(
      `${JSON.stringify(
        {
          config: project.config.displayPath,
          nodes: plan.nodes.map((node) => ({
            id: node.id,
            type: node.type,
            phase: node.phase,
            dependencies: node.dependencies,
            targets: node.targets.map((id) => views.get(id)),
          })),
          findings: policy.findings,
          denied: policy.denied,
        },
        null,
        2,
      )}\n`,
    )
    return policy.denied ? 1 : 0
  }
  const rows: string[][] = [['NODE', 'TYPE', 'PHASE', 'TARGET', 'LLB DIGEST', 'NETWORK', 'OUTPUT']]
  for (const node of plan.nodes) {
    const targets = node.targets.map((id) => views.get(id)).filter((view) => view !== undefined)
    if (targets.length === 0) rows.push([node.id, node.type, node.phase, '-', '-', '-', '-'])
    for (const [index, view] of targets.entries()) {
      rows.push([
        index === 0 ? node.id : '',
        index === 0 ? node.type : '',
        view.phase,
        view.id.slice(node.id.length + 1) + (view.cache ? '' : ' (no cache)'),
        view.digest ? view.digest.slice(0, 19) : '-',
        view.network.length === 0 ? '-' : view.network.join(','),
        [view.exporter, view.secrets.length > 0 ? `secrets: ${view.secrets.join(',')}` : undefined].filter(Boolean).join('; ') || '-',
      ])
    }
  }
  out(table(rows))
  out(`\n${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'}, ${plan.targets.length} target${plan.targets.length === 1 ? '' : 's'}; publish targets run after every build and check target passed\n`)
  if (policy.findings.length > 0) {
    out('\nfindings:\n')
    for (const finding of policy.findings) out(`  ${formatFinding(finding)}\n`)
  }
  if (policy.denied) out('\npolicy denies this plan: `kiln run` would run nothing\n')
  return policy.denied ? 1 : 0
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd()).join('\n') + '\n'
}

export { isCoreError }
