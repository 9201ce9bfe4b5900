import type { DependencyContainer } from 'tsyringe'
import { ExitCode } from '../errors.js'
import type { CommandContext } from '../main.js'
import type { BuildkitClient } from '@kiln/buildkit'
import type { EarlyConnection } from '../engine/early.js'
import type { Runtime } from '../runtime/runtime.js'
import { Tokens } from '../container.js'
import { resolveCommand, type Project } from './shared.js'

/** `kiln run [node…]`: a node runs with what it depends on; Ctrl-C cancels the run on the engine (exit 130). */
export async function runCommand(context: CommandContext, nodes: string[] = []): Promise<number> {
  const { container, loadProject } = resolveCommand(context)
  // A run needs the engine: connect while the config and plugins load (its errors still come after the config's).
  const early = container.resolve<EarlyConnection<BuildkitClient>>(Tokens.EarlyConnection)
  early.start()
  try {
    return await runProject(context, container, await loadProject(), nodes)
  } finally {
    await early.release()
  }
}

async function runProject(context: CommandContext, container: DependencyContainer, project: Project, nodes: string[]): Promise<number> {
  const runtime = container.resolve<(projectDir: string) => Runtime>(Tokens.Runtime)(project.config.projectDir)
  const controller = new AbortController()
  let interrupts = 0
  const onSigint = () => {
    interrupts += 1
    if (interrupts === 1) {
      context.io.stderr.write('\ninterrupted: cancelling the run on the engine (Ctrl-C again to quit at once)\n')
      controller.abort(new Error('interrupted'))
    } else {
      process.exit(ExitCode.interrupted)
    }
  }
  process.on('SIGINT', onSigint)
  try {
    const { summary } = await runtime.run(project, { nodes, keepGoing: context.options.keepGoing === true, signal: controller.signal })
    return summary.ok ? ExitCode.ok : ExitCode.failed
  } finally {
    process.off('SIGINT', onSigint)
  }
}
