/**
 * The composition root: the only module that knows tsyringe. Registrations are `useValue`/`useFactory` under
 * symbol tokens; each command invocation (one run) gets its own child container. Library classes take their
 * dependencies as constructor parameters and never see the container.
 */
import 'reflect-metadata'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import type { Reporter } from '@kiln/core'
import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe'
import type { BuildkitClient } from '@kiln/buildkit'
import type { BuildkitEngine } from './engine/buildkit-engine.js'
import { EarlyConnection } from './engine/early.js'
import type { BuiltinPluginModules } from './plugins/discover.js'
import type { Io } from './io.js'
import type { GlobalOptions } from './main.js'
import { createReporter, resolveProgressMode } from './progress/index.js'
import { Project } from './runtime/project.js'
import { Redactor } from './runtime/redaction.js'
import { Runtime } from './runtime/runtime.js'

export const Tokens = {
  Io: Symbol('Io'),
  Options: Symbol('GlobalOptions'),
  CliDir: Symbol('CliDir'),
  BuiltinPlugins: Symbol('BuiltinPlugins'),
  BuiltinPluginModules: Symbol('BuiltinPluginModules'),
  Cwd: Symbol('Cwd'),
  ProjectLoader: Symbol('ProjectLoader'),
  EngineConnector: Symbol('EngineConnector'),
  EarlyConnection: Symbol('EarlyConnection'),
  Redactor: Symbol('Redactor'),
  Reporter: Symbol('Reporter'),
  Runtime: Symbol('Runtime'),
} as const

export type ProjectLoader = () => Promise<Project>
/** Connects to the engine for a project directory. */
export type EngineConnector = (projectDir: string) => Promise<BuildkitEngine>

/** The plugins every run loads: the std node types ship with the CLI. */
export const BUILTIN_PLUGINS: readonly string[] = ['@kiln/plugin-std']

/**
 * The built-in plugins' code as the CLI ships it, by package name, with the version it was built from: when the
 * package the project resolves has that version, this copy is used instead of importing the same code again from
 * node_modules (the bundled binary already holds it, with the core and llb it shares).
 */
export const BUILTIN_PLUGIN_MODULES: BuiltinPluginModules = {
  '@kiln/plugin-std': {
    version: (createRequire(import.meta.url)('@kiln/plugin-std/package.json') as { version: string }).version,
    load: () => import('@kiln/plugin-std'),
  },
}

/**
 * The CLI package's directory (`packages/cli` in the repo, `node_modules/@kiln/cli` when installed): the nearest
 * folder above this module with a package.json (this module is `dist/container.js`, or a chunk of the bundled
 * binary under `dist/bin/`).
 */
export const CLI_DIR = packageDir(dirname(fileURLToPath(import.meta.url)))

function packageDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return resolve(from, '..')
  }
}

rootContainer.register(Tokens.CliDir, { useValue: CLI_DIR })
rootContainer.register(Tokens.BuiltinPlugins, { useValue: BUILTIN_PLUGINS })
rootContainer.register(Tokens.BuiltinPluginModules, { useValue: BUILTIN_PLUGIN_MODULES })

/** A child container for one command invocation. */
export function createCommandContainer(io: Io, options: GlobalOptions): DependencyContainer {
  const child = rootContainer.createChildContainer()
  child.register(Tokens.Io, { useValue: io })
  child.register(Tokens.Options, { useValue: options })
  child.register(Tokens.Cwd, { useValue: resolve(io.cwd, options.directory ?? '.') })
  child.register(Tokens.Redactor, { useValue: new Redactor() })
  child.register(Tokens.ProjectLoader, {
    useFactory: instanceCachingFactory<ProjectLoader>((c) => {
      let loaded: Promise<Project> | undefined
      return () =>
        (loaded ??= Project.load(
          {
            cwd: c.resolve<string>(Tokens.Cwd),
            ...(options.file === undefined ? {} : { file: options.file }),
            profiles: options.profile,
            set: options.set,
            ...(options.paramsFile === undefined ? {} : { paramsFile: resolve(io.cwd, options.paramsFile) }),
            env: io.env,
            displayBase: io.cwd,
          },
          {
            builtinPlugins: c.resolve<readonly string[]>(Tokens.BuiltinPlugins),
            builtinModules: c.resolve<BuiltinPluginModules>(Tokens.BuiltinPluginModules),
            cliDir: c.resolve<string>(Tokens.CliDir),
            optionalBuiltins: true,
          },
        ))
    }),
  })
  // The BuildKit client (gRPC, the session server) loads only for commands that talk to an engine. `kiln run`
  // starts the connection (and the capability probe) early, while the config and plugins load.
  child.register(Tokens.EarlyConnection, {
    useValue: new EarlyConnection<BuildkitClient>(async () => {
      const client = await (await import('./engine/connect.js')).connectClient({ ...(options.engine === undefined ? {} : { address: options.engine }), env: io.env })
      client.capabilities().catch(() => undefined)
      return client
    }),
  })
  child.register(Tokens.EngineConnector, {
    useFactory: instanceCachingFactory<EngineConnector>((c) => async (projectDir) => {
      const client = c.resolve<EarlyConnection<BuildkitClient>>(Tokens.EarlyConnection).take()
      return (await import('./engine/connect.js')).engineFor(await client, projectDir)
    }),
  })
  child.register(Tokens.Reporter, {
    useFactory: instanceCachingFactory<Reporter>(() => createReporter(resolveProgressMode(options.progress, { stdout: io.stdout, stderr: io.stderr, env: io.env }), { stdout: io.stdout, stderr: io.stderr, env: io.env })),
  })
  child.register(Tokens.Runtime, {
    useFactory: instanceCachingFactory<(projectDir: string) => Runtime>((c) => (projectDir) => {
      const connect = c.resolve<EngineConnector>(Tokens.EngineConnector)
      const redactor = c.resolve<Redactor>(Tokens.Redactor)
      return new Runtime(() => connect(projectDir), c.resolve<Reporter>(Tokens.Reporter), redactor, (text) => void io.stderr.write(`${redactor.text(text)}\n`))
    }),
  })
  return child
}
