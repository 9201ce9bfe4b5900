import { dumpDot, dumpJson, dumpRaw, isState } from '@kiln/llb'
import { findCause, isEngineUnavailable, UsageError } from '../errors.js'
import type { CommandContext } from '../main.js'
import { lazyServices } from '../runtime/runtime.js'
import { resolveCommand } from './shared.js'

/** `kiln dump [node] --format json|dot|raw`: the LLB of a node's targets (raw: the Definition bytes of one target). */
export async function dumpCommand(context: CommandContext, node?: string): Promise<number> {
  const { loadProject, connectEngine, out } = resolveCommand(context)
  const project = await loadProject()
  let engine: Awaited<ReturnType<typeof connectEngine>> | undefined
  try {
    const selection = node === undefined ? {} : { nodes: [node] }
    const { plan } = await project.plan({ ...selection, engine: lazyServices(async () => (engine ??= await connectEngine(project.config.projectDir))) }).catch(async (error: unknown) => {
      if (!findCause(error, isEngineUnavailable)) throw error
      context.io.stderr.write('note: no engine reachable; image configs not resolved\n')
      return project.plan(selection)
    })
    const targets = plan.targets.filter((target) => node === undefined || target.nodeId === node)
    if (targets.length === 0) throw new UsageError(node === undefined ? 'nothing to dump: the plan has no targets' : `node "${node}" has no LLB to dump`)
    const format = String(context.options.format ?? 'json')
    if (format === 'raw') {
      if (targets.length !== 1) throw new UsageError(`--format raw writes one Definition; ${node === undefined ? 'the plan' : `node "${node}"`} has ${targets.length} targets`, { hint: `pick one: kiln dump NODE --format raw (targets: ${targets.map((target) => target.id).join(', ')})` })
      const [target] = targets
      if (!target || !isState(target.state)) throw new UsageError('the target has no LLB state')
      context.io.stdout.write(Buffer.from(dumpRaw(target.state.marshal())) as unknown as string)
      return 0
    }
    for (const target of targets) {
      if (!isState(target.state)) continue
      const definition = target.state.marshal()
      if (targets.length > 1) out(format === 'dot' ? `// ${target.id}\n` : '')
      out(format === 'dot' ? dumpDot(definition) : dumpJson(definition))
      if (!(format === 'dot' ? dumpDot(definition) : dumpJson(definition)).endsWith('\n')) out('\n')
    }
    return 0
  } finally {
    await engine?.close()
  }
}
