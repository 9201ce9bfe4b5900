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
  try {
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
  } catch (error) {
    if (isCoreError(error, 'BUILDKIT_UNAVAILABLE') || (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'BUILDKIT_UNAVAILABLE') || isConnectionError(error)) {
      throw new EngineUnavailableError(`cannot reach the engine at ${resolved.address} (from ${resolved.from}): ${(error as Error).message.split('\n')[0]}`, {
        address: resolved.address,
        cause: error,
        hint: 'start the project engine with `kiln engine start`, or pass --engine ADDRESS (or set KILN_ENGINE)',
      })
    }
    throw error
  }
}

function isConnectionError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE'
}
