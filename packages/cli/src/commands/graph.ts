import type { Graph } from '@kiln/core'
import type { CommandContext } from '../main.js'
import { resolveCommand } from './shared.js'

/** `kiln graph --format mermaid|dot`: the DAG as declared (no compile, no engine). */
export async function graphCommand(context: CommandContext): Promise<number> {
  const { loadProject, out } = resolveCommand(context)
  const project = await loadProject()
  const graph = project.graph()
  out(context.options.format === 'dot' ? toDot(graph) : toMermaid(graph))
  return 0
}

const PHASE_SHAPE: Record<string, [string, string]> = { build: ['[', ']'], check: ['{{', '}}'], publish: ['[/', '/]'] }

export function toMermaid(graph: Graph): string {
  const lines = ['flowchart LR']
  const id = (node: string) => `n_${node.replace(/[^A-Za-z0-9_]/g, '_')}`
  for (const node of graph.nodes) {
    const [open, close] = PHASE_SHAPE[node.phase] ?? ['[', ']']
    lines.push(`  ${id(node.id)}${open}"${node.id}<br/><small>${node.type}</small>"${close}`)
  }
  for (const edge of graph.edges) {
    if (edge.type === 'after') lines.push(`  ${id(edge.from)} -.-> ${id(edge.to)}`)
    else if (edge.output && edge.output !== 'default') lines.push(`  ${id(edge.from)} -->|${edge.output}| ${id(edge.to)}`)
    else lines.push(`  ${id(edge.from)} --> ${id(edge.to)}`)
  }
  return `${dedupe(lines).join('\n')}\n`
}

export function toDot(graph: Graph): string {
  const quote = (text: string) => JSON.stringify(text)
  const shape: Record<string, string> = { build: 'box', check: 'hexagon', publish: 'parallelogram' }
  const lines = ['digraph kiln {', '  rankdir=LR;', '  node [fontname="Helvetica"];']
  for (const node of graph.nodes) lines.push(`  ${quote(node.id)} [label=${quote(`${node.id}\n${node.type}`)}, shape=${shape[node.phase] ?? 'box'}];`)
  for (const edge of graph.edges) {
    const attrs = [edge.type === 'after' ? 'style=dashed' : undefined, edge.output && edge.output !== 'default' ? `label=${quote(edge.output)}` : undefined].filter(Boolean)
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`)
  }
  lines.push('}')
  return `${dedupe(lines).join('\n')}\n`
}

function dedupe(lines: string[]): string[] {
  return lines.filter((line, index) => lines.indexOf(line) === index)
}
