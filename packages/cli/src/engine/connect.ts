import { spawnSync } from 'node:child_process'
import { isCoreError } from '@kiln/core'
import type { BuildkitClient } from '@kiln/buildkit'
import { EngineUnavailableError, UsageError } from '../errors.js'
import { mark } from '../timing.js'
import { BuildkitEngine } from './buildkit-engine.js'

export interface ConnectEngineOptions {
  /** `--engine`; else KILN_ENGINE, BUILDKIT_HOST, DOCKER_HOST, the project engine. */
  address?: string
  env: Readonly<Record<string, string | undefined>>
  projectDir: string
  signal?: AbortSignal
}

/** Connects to the engine; an unreachable one is an `EngineUnavailableError` (exit 3) saying what to do. */
export async function connectEngine(options: ConnectEngineOptions): Promise<BuildkitEngine> {
  return new BuildkitEngine(await connectClient(options), { projectDir: options.projectDir })
}

/** The engine of a project on a connection made earlier (see `connectClient`). */
export function engineFor(client: BuildkitClient, projectDir: string): BuildkitEngine {
  return new BuildkitEngine(client, { projectDir })
}

/** Connects to the engine and checks that it answers; errors as `connectEngine`'s. */
export async function connectClient(options: Omit<ConnectEngineOptions, 'projectDir'>): Promise<BuildkitClient> {
  mark('connecting')
  const { connect, resolveEngineAddress } = await import('@kiln/buildkit')
  mark('buildkit client loaded')
  const env = options.env as NodeJS.ProcessEnv
  let resolved: ReturnType<typeof resolveEngineAddress>
  try {
    resolved = resolveEngineAddress(options.address, env)
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error })
  }
  const attempt = async (): Promise<BuildkitClient> => {
    const client = await connect({ ...(options.address ? { address: options.address } : {}), env, ...(options.signal ? { signal: options.signal } : {}) })
    // A cheap call proves the engine answers (a socket may accept and then fail); capabilities are probed when a
    // run first needs them.
    try {
      await client.listWorkers()
    } catch (error) {
      client.close()
      throw error
    }
    mark('connected')
    return client
  }
  try {
    try {
      return await attempt()
    } catch (error) {
      // No engine was named and the project's own is not running: start it (the embedded default), then retry once.
      if (!isUnavailable(error) || resolved.from !== 'default' || !(await autoStartEngine(env))) throw error
      return await attempt()
    }
  } catch (error) {
    if (isUnavailable(error)) {
      throw new EngineUnavailableError(`cannot reach the engine at ${resolved.address} (from ${resolved.from}): ${(error as Error).message.split('\n')[0]}`, {
        address: resolved.address,
        cause: error,
        hint: 'start the project engine with `kiln engine start`, or pass --engine ADDRESS (or set KILN_ENGINE)',
      })
    }
    throw error
  }
}

function isUnavailable(error: unknown): boolean {
  return isCoreError(error, 'BUILDKIT_UNAVAILABLE') || (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'BUILDKIT_UNAVAILABLE') || isConnectionError(error)
}

/**
 * Starts the project's `current` engine through scripts/engine.sh when this CLI runs from a Kiln checkout and
 * `KILN_NO_AUTOSTART` is not set. The script's progress goes to stderr. True when the engine started.
 */
async function autoStartEngine(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.KILN_NO_AUTOSTART) return false
  const { findEngineScript } = await import('../commands/engine.js')
  const script = findEngineScript()
  if (script === undefined) return false
  process.stderr.write('kiln: no engine is running; starting the project engine (scripts/engine.sh start current)\n')
  const started = spawnSync('bash', [script, 'start', 'current'], { stdio: ['ignore', 'ignore', 'inherit'], env })
  return started.status === 0
}

function isConnectionError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE'
}
