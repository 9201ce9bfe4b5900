import { isCoreError } from '@kiln/core'
import type { CommandContext } from '../main.js'
import { resolveCommand } from './shared.js'

/** `kiln validate`: config, plugins, graph and compile (without an engine); exit 2 with located errors otherwise. */
export async function validateCommand(context: CommandContext): Promise<number> {
  const { loadProject, out } = resolveCommand(context)
  const project = await loadProject()
  const graph = project.graph()
  let note = ''
  try {
    const { policy } = await project.plan()
    const warnings = policy.findings.length
    if (warnings > 0) note = `, ${warnings} finding${warnings === 1 ? '' : 's'} (see kiln plan)`
  } catch (error) {
    if (!isCoreError(error, 'NODE_ENGINE_REQUIRED')) throw error
    note = `; node "${error.nodeId}" needs an engine to compile, so compile was not checked`
  }
  const plugins = project.plugins.map((plugin) => plugin.name).join(', ')
  out(`${project.config.displayPath}: ok (${graph.nodes.length} node${graph.nodes.length === 1 ? '' : 's'}, ${graph.edges.length} edge${graph.edges.length === 1 ? '' : 's'}; plugins: ${plugins || 'none'}${note})\n`)
  return 0
}
