import { Argument, Command, CommanderError, Option } from 'commander'
import { CliError, ExitCode, findCause, isEngineUnavailable, UsageError } from './errors.js'
import { processIo, type Io } from './io.js'
import { cliVersion } from './version.js'

/** Options every command accepts (`kiln -C examples/hello run`, `kiln run -C examples/hello`). */
export interface GlobalOptions {
  directory?: string
  file?: string
  engine?: string
  progress: string
  profile: string[]
  set: string[]
  paramsFile?: string
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

/**
 * Runs the CLI and returns the exit code: 0 ok, 1 a node failed, 2 a user error, 3 engine unavailable, 130
 * interrupted. Never throws; prints errors itself (stack traces only with KILN_DEBUG=1).
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let exitCode: number = ExitCode.ok
  const program = new Command('kiln')
  const setCode = (code: number) => {
    exitCode = code
  }
  program
    .description('Run software delivery pipelines (kiln.yaml / kiln.ts) as DAGs on BuildKit.')
    .version(cliVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('-C, --directory <dir>', 'run as if started in <dir>')
    .option('-f, --file <file>', 'the config file (default: kiln.ts or kiln.yaml here or in a parent)')
    .option('--engine <address>', 'engine address (unix://, tcp://, docker://, docker-container://); default: KILN_ENGINE, BUILDKIT_HOST, DOCKER_HOST, the project engine')
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'tty', 'plain', 'json']).default('auto'))
    .option('--profile <name>', 'apply kiln.<name>.yaml over the config (repeatable)', collect, [])
    .option('--set <key=value>', 'set a param (repeatable)', collect, [])
    .option('--params-file <file>', 'read params from a YAML or JSON file')
    .showHelpAfterError('(run kiln --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    })

  const action =
    (load: () => Promise<(context: CommandContext, ...args: never[]) => Promise<number | void>>) =>
    async (...args: unknown[]) => {
      const command = args.at(-1) as Command
      const options = command.optsWithGlobals<GlobalOptions & Record<string, unknown>>()
      const run = await load()
      const code = await run({ io, options, command }, ...(args.slice(0, -1) as never[]))
      setCode(code ?? ExitCode.ok)
    }

  program
    .command('run')
    .description('run nodes (all by default); a node runs with what it depends on')
    .argument('[nodes...]', 'node ids')
    .option('--keep-going', 'after a failure, finish the branches that do not depend on it')
    .action(action(async () => (await import('./commands/run.js')).runCommand))

  program
    .command('plan')
    .description('show what would run: per node its phase, targets, LLB digest, network, policy findings')
    .argument('[nodes...]', 'node ids')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(action(async () => (await import('./commands/plan.js')).planCommand))

  program
    .command('graph')
    .description('draw the DAG')
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot']).default('mermaid'))
    .action(action(async () => (await import('./commands/graph.js')).graphCommand))

  program
    .command('dump')
    .description("print a node's LLB, like buildctl debug dump-llb (all targets by default)")
    .argument('[node]', 'node id')
    .addOption(new Option('--format <format>', 'output format (raw: the Definition bytes)').choices(['json', 'dot', 'raw']).default('json'))
    .action(action(async () => (await import('./commands/dump.js')).dumpCommand))

  program
    .command('validate')
    .description('check the config, its plugins and the graph without running anything')
    .action(action(async () => (await import('./commands/validate.js')).validateCommand))

  program
    .command('doctor')
    .description('check the engine: address, version, capabilities, fixture images')
    .action(action(async () => (await import('./commands/doctor.js')).doctorCommand))

  const engine = program.command('engine').description("manage the project's local engines (scripts/engine.sh)")
  for (const verb of ['start', 'stop', 'status'] as const) {
    engine
      .command(verb)
      .description(`${verb} a local engine`)
      .addArgument(new Argument('[flavor]', 'engine flavor').choices(['current', 'legacy']).default('current'))
      .action(action(async () => (await import('./commands/engine.js')).engineCommand(verb)))
  }

  program
    .command('du')
    .description("show the engine's build cache usage")
    .option('-v, --verbose', 'list every cache record')
    .action(action(async () => (await import('./commands/cache.js')).duCommand))

  program
    .command('prune')
    .description("remove the engine's build cache")
    .option('-a, --all', 'remove everything, including internal and frontend references')
    .option('--keep-duration <seconds>', 'keep records used within this many seconds')
    .action(action(async () => (await import('./commands/cache.js')).pruneCommand))

  program
    .command('init')
    .description('write a starter kiln.yaml that runs')
    .option('--force', 'overwrite an existing kiln.yaml')
    .action(action(async () => (await import('./commands/init.js')).initCommand))

  program
    .command('schema')
    .description("write the JSON Schema of kiln.yaml from the installed plugins' node types")
    .option('-o, --output <file>', 'where to write it ("-" for stdout)', '.kiln/schema.json')
    .action(action(async () => (await import('./commands/schema.js')).schemaCommand))

  for (const command of program.commands) command.exitOverride().showHelpAfterError('(run kiln --help for usage)')
  for (const command of engine.commands) command.exitOverride()

  try {
    await program.parseAsync([...argv], { from: 'user' })
    return exitCode
  } catch (error) {
    return reportError(error, io)
  }
}

/** Everything a command gets. */
export interface CommandContext {
  io: Io
  options: GlobalOptions & Record<string, unknown>
  command: Command
}

/** Prints an error the way a user should see it and returns the exit code. */
export function reportError(error: unknown, io: Io): number {
  const debug = io.env.KILN_DEBUG === '1'
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok
    // commander already printed the message.
    return ExitCode.usage
  }
  // A plugin hook that needed the engine wraps its unavailability: report that (exit 3), not the wrapper.
  const unavailable = error instanceof CliError ? undefined : findCause(error, isEngineUnavailable)
  if (unavailable) return reportError(unavailable, io)
  if (error instanceof CliError) {
    const text = error.name === 'ConfigError' ? error.message : `error: ${error.message}`
    io.stderr.write(`${text}\n`)
    if (error.hint !== undefined) io.stderr.write(`hint: ${error.hint}\n`)
    if (debug && error.stack) io.stderr.write(`${error.stack}\n`)
    return error.exitCode
  }
  const mapped = mapCoreError(error)
  if (mapped) return reportError(mapped, io)
  const message = error instanceof Error ? error.message : String(error)
  io.stderr.write(`error: ${message}\n`)
  if (debug) io.stderr.write(`${error instanceof Error ? error.stack : ''}\n`)
  else io.stderr.write('hint: this looks like a bug in kiln or a plugin; run with KILN_DEBUG=1 for details\n')
  return ExitCode.failed
}

function mapCoreError(error: unknown): CliError | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  if (typeof code !== 'string' || !(error instanceof Error)) return undefined
  if (code === 'BUILDKIT_UNAVAILABLE') return new CliError(error.message, ExitCode.engineUnavailable, { cause: error, hint: 'start one with `kiln engine start`, or pass --engine ADDRESS' })
  if (code.startsWith('CONFIG_') || code === 'GRAPH_INVALID' || code.startsWith('PLUGIN_INVALID') || code === 'PLUGIN_DUPLICATE_KIND') return new UsageError(error.message, { cause: error })
  return new CliError(error.message, ExitCode.failed, { cause: error })
}
