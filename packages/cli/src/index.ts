/**
 * `@kiln/cli`: the `kiln` command. Programmatic use: `main(argv, io)` runs the CLI and returns its exit code; the
 * config loader, the project (graph, compile, plan) and the runtime are exported for tools and tests.
 *
 * @packageDocumentation
 */
export { main, reportError } from './main.js'
export type { CommandContext, GlobalOptions } from './main.js'
export type { Io, Stream } from './io.js'
export { CliError, ConfigError, EngineUnavailableError, ExitCode, InterruptedError, UsageError, formatDiagnostic } from './errors.js'
export type { Diagnostic, ExitCodeValue, SourcePosition } from './errors.js'
export { loadConfig } from './config/load.js'
export type { LoadConfigOptions, LoadedConfig, PluginRequest } from './config/load.js'
export { Project } from './runtime/project.js'
export type { PlannedRun, ProjectOptions } from './runtime/project.js'
/** @experimental */
export { Runtime } from './runtime/runtime.js'
/** @experimental */
export { Scheduler } from './runtime/scheduler.js'
export { Redactor } from './runtime/redaction.js'
export { createReporter, resolveProgressMode, JsonReporter, PlainReporter, TtyReporter } from './progress/index.js'
export type { ProgressMode } from './progress/index.js'
export { isPluginPackageName } from './plugins/discover.js'
