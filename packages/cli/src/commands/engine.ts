import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { CLI_DIR } from '../container.js'
import { UsageError } from '../errors.js'
import type { CommandContext } from '../main.js'

/** `scripts/engine.sh` of the Kiln repository this CLI runs from, if it does. */
export function findEngineScript(from: string = CLI_DIR): string | undefined {
  let dir = from
  for (;;) {
    const candidate = join(dir, 'scripts', 'engine.sh')
    if (existsSync(candidate) && existsSync(join(dir, 'pnpm-workspace.yaml'))) return candidate
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** `kiln engine start|stop|status [current|legacy]`: the project's local engines, through scripts/engine.sh. */
export function engineCommand(verb: 'start' | 'stop' | 'status') {
  return async (context: CommandContext, flavor = 'current'): Promise<number> => {
    const script = findEngineScript()
    if (script === undefined) {
      throw new UsageError(`kiln engine ${verb} manages the local engines of the Kiln repository, and this kiln is not running from one`, {
        hint: 'run BuildKit yourself (dockerd, or buildkitd) and point kiln at it with --engine ADDRESS or KILN_ENGINE',
      })
    }
    return new Promise<number>((resolve, reject) => {
      const child = spawn('bash', [script, verb, flavor], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...context.io.env } as NodeJS.ProcessEnv })
      child.stdout.on('data', (chunk: Buffer) => context.io.stdout.write(chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => context.io.stderr.write(chunk.toString()))
      child.on('error', reject)
      child.on('close', (code) => resolve(code === 0 ? 0 : verb === 'status' ? 3 : 1))
    })
  }
}
