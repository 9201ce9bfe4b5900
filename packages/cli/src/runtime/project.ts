import {
  buildGraph,
  compileGraph,
  createPlan,
  createRegistry,
  evaluatePolicies,
  isCoreError,
  type EngineServices,
  type Graph,
  type NodeEntry,
  type PipelineConfig,
  type Plan,
  type Plugin,
  type PolicyReport,
  type Registry,
} from '@kiln/core'
import { loadConfig, type LoadConfigOptions, type LoadedConfig } from '../config/load.js'
import { ConfigError, UsageError } from '../errors.js'
import { collectPluginSources, loadPlugins, type BuiltinPluginModules, type LoadedPlugin, type ModuleLoader } from '../plugins/discover.js'
import { mark } from '../timing.js'
import { toConfigError } from './diagnostics.js'

export interface ProjectOptions {
  /** Plugins the CLI always loads (`@kiln/plugin-std`). */
  builtinPlugins: readonly string[]
  /** Where built-in plugins resolve from when the project does not have them. */
  cliDir: string
  loader?: ModuleLoader
  /** Skip built-in plugins that are not installed (instead of failing). */
  optionalBuiltins?: boolean
  /** The built-in plugins' code the CLI carries, used when the resolved package has the same version. */
  builtinModules?: BuiltinPluginModules
}

export interface PlannedRun {
  plan: Plan
  policy: PolicyReport
}

/**
 * A loaded project: its config, its plugins' registry and its validated graph. Planning compiles through the plugins;
 * nothing here talks to an engine unless a node type asks for engine services while compiling.
 */
export class Project {
  private graphCache: Graph | undefined

  constructor(
    readonly config: LoadedConfig,
    readonly plugins: readonly LoadedPlugin[],
    readonly registry: Registry,
  ) {}

  static async load(options: LoadConfigOptions, projectOptions: ProjectOptions): Promise<Project> {
    const config = await loadConfig(options)
    mark('config loaded')
    const sources = collectPluginSources({ builtin: projectOptions.builtinPlugins, projectDir: config.projectDir, requests: config.plugins }).map((source) =>
      // plugin-std resolves relative `local` paths and `export` destinations against the config's directory.
      source.name === '@kiln/plugin-std' && source.options === undefined ? { ...source, options: { baseDir: config.projectDir } } : source,
    )
    const plugins = await loadPlugins(sources, {
      projectDir: config.projectDir,
      cliDir: projectOptions.cliDir,
      configFile: config.displayPath,
      ...(projectOptions.optionalBuiltins ? { optionalBuiltins: true } : {}),
      ...(projectOptions.builtinModules === undefined ? {} : { builtinModules: projectOptions.builtinModules }),
      ...(projectOptions.loader === undefined ? {} : { loader: projectOptions.loader }),
    })
    mark('plugins loaded')
    let registry: Registry
    try {
      registry = createRegistry(plugins.map((loaded) => loaded.plugin as Plugin))
    } catch (error) {
      if (isCoreError(error, 'PLUGIN_DUPLICATE_KIND') || isCoreError(error, 'PLUGIN_INVALID')) {
        const names = Array.isArray(error.details.plugins) ? (error.details.plugins as string[]) : []
        const position = [...names].reverse().map((name) => plugins.find((loaded) => loaded.name === name)?.source.position).find((item) => item !== undefined)
        throw new ConfigError([{ message: error.message, ...(position ? { position } : { position: { file: config.displayPath } }) }], { cause: error })
      }
      throw error
    }
    return new Project(config, plugins, registry)
  }

  /** The pipeline as core sees it: nodes, declared params and secrets (their names; values are read at run time). */
  pipelineConfig(): PipelineConfig {
    const secrets = Object.fromEntries(this.config.secrets.names().map((name) => [name, {}]))
    return {
      nodes: this.config.nodes as Record<string, NodeEntry>,
      params: this.config.paramDeclarations,
      secrets,
    }
  }

  /** Builds and validates the graph; every problem comes back as file:line:column. */
  graph(): Graph {
    if (this.graphCache) return this.graphCache
    try {
      this.graphCache = buildGraph(this.pipelineConfig(), this.registry, { params: this.config.params })
    } catch (error) {
      throw toConfigError(error, this.config) ?? error
    }
    return this.graphCache
  }

  /** Checks node ids given on the command line (`kiln run build test`). */
  selectNodes(ids: readonly string[]): string[] | undefined {
    if (ids.length === 0) return undefined
    const graph = this.graph()
    const known = graph.order
    for (const id of ids) {
      if (!graph.node(id)) {
        throw new UsageError(`unknown node "${id}"`, { hint: known.length > 0 ? `nodes in ${this.config.displayPath}: ${known.join(', ')}` : `${this.config.displayPath} declares no nodes` })
      }
    }
    return [...new Set(ids)]
  }

  /** Compile → plan → policies. `engine` is given to node types that need it while compiling. */
  async plan(options: { nodes?: readonly string[]; engine?: EngineServices } = {}): Promise<PlannedRun> {
    const graph = this.graph()
    const nodes = this.selectNodes(options.nodes ?? [])
    try {
      const compiled = await compileGraph(graph, {
        registry: this.registry,
        params: this.config.params,
        ...(options.engine === undefined ? {} : { engine: options.engine }),
        ...(nodes === undefined ? {} : { nodes }),
      })
      mark('compiled')
      const plan = createPlan(compiled, nodes === undefined ? {} : { nodes })
      const policy = await evaluatePolicies(plan, { registry: this.registry, severities: this.config.policies })
      return { plan, policy }
    } catch (error) {
      throw toConfigError(error, this.config) ?? error
    }
  }

  /** Every secret a plan's targets (or the graph's nodes) need. */
  secretsOf(plan: Plan): string[] {
    const names = new Set<string>()
    for (const target of plan.targets) for (const name of target.secrets) names.add(name)
    for (const node of plan.nodes) for (const site of this.graph().node(node.id)?.secrets ?? []) names.add(site.name)
    return [...names]
  }
}
