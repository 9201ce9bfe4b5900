import type { DependencyContainer } from 'tsyringe'
import { createCommandContainer, Tokens, type EngineConnector, type ProjectLoader } from '../container.js'
import type { CommandContext } from '../main.js'
import type { Project } from '../runtime/project.js'

export interface Resolved {
  container: DependencyContainer
  loadProject: ProjectLoader
  connectEngine: EngineConnector
  cwd: string
  out: (text: string) => void
  err: (text: string) => void
}

export function resolveCommand(context: CommandContext): Resolved {
  const container = createCommandContainer(context.io, context.options)
  return {
    container,
    loadProject: container.resolve<ProjectLoader>(Tokens.ProjectLoader),
    connectEngine: container.resolve<EngineConnector>(Tokens.EngineConnector),
    cwd: container.resolve<string>(Tokens.Cwd),
    out: (text) => void context.io.stdout.write(text),
    err: (text) => void context.io.stderr.write(text),
  }
}

export type { Project }
