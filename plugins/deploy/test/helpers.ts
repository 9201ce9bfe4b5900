/**
 * End-to-end helpers: a throwaway project that uses this plugin, the kiln CLI run from source against the real
 * engine (`KILN_ENGINE`), the loopback registry, and the Docker CLI on the engine's socket.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { KilnEvent, RunSummary } from '@kiln/core'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../..', import.meta.url))
const pluginDir = fileURLToPath(new URL('..', import.meta.url))
const cliBin = join(root, 'packages/cli/src/bin/kiln.ts')
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href

export const REGISTRY = '127.0.0.1:5000'
export const engine = process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock'
export const flavor = process.env.KILN_ENGINE_FLAVOR ?? (/legacy/.test(engine) ? 'legacy' : 'current')

/** The Docker API socket behind a docker:// engine address (the only kind the project's engines have). */
export function dockerSocket(): string {
  if (!engine.startsWith('docker:///')) throw new Error(`the deploy end-to-end tests need a docker:///path engine, received ${engine}`)
  return engine.slice('docker://'.length)
}

/** Starts the loopback registry (idempotent). */
export async function startRegistry(): Promise<void> {
  await run('bash', [join(root, 'scripts/registry.sh'), 'start'], { cwd: root })
}

/** A temporary project with `kiln.yaml` and this plugin installed in its node_modules. */
export async function createProject(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-deploy-e2e-'))
  await mkdir(join(dir, 'node_modules', '@kiln'), { recursive: true })
  await symlink(pluginDir, join(dir, 'node_modules', '@kiln', 'plugin-deploy'))
  await writeFile(join(dir, 'kiln.yaml'), yaml)
  return dir
}

export interface KilnRun {
  code: number | null
  stdout: string
  stderr: string
  events: KilnEvent[]
  summary: RunSummary
}

/** Starts `kiln run --progress json` in `dir`; `done` resolves when it exits. */
export function startKiln(dir: string, args: readonly string[] = [], env: Readonly<Record<string, string>> = {}): { child: ChildProcess; done: Promise<KilnRun> } {
  const child = spawn(process.execPath, ['--conditions=@kiln/source', '--import', tsx, cliBin, 'run', '--progress', 'json', '--engine', engine, ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<KilnRun>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { type: string })
      const summary = lines.find((line) => line.type === 'run.summary') as unknown as RunSummary | undefined
      if (summary === undefined) return reject(new Error(`kiln exited with ${String(code)} and no run summary\nstdout:\n${stdout}\nstderr:\n${stderr}`))
      resolve({ code, stdout, stderr, events: lines.filter((line) => line.type !== 'run.summary') as KilnEvent[], summary })
    })
  })
  return { child, done }
}

/** Runs `kiln run --progress json` in `dir` to its end. */
export function kiln(dir: string, args: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<KilnRun> {
  return startKiln(dir, args, env).done
}

/** One node's result. */
export function result(outcome: KilnRun, nodeId: string): RunSummary['results'][number] {
  const found = outcome.summary.results.find((item) => item.nodeId === nodeId)
  if (found === undefined) throw new Error(`no result for node ${nodeId} in ${JSON.stringify(outcome.summary)}`)
  return found
}

/** The Docker CLI on the engine's own socket. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/docker', ['-H', `unix://${dockerSocket()}`, ...args], { maxBuffer: 16 * 1024 * 1024 })
  return stdout
}

/** The digest the registry serves for `repository:tag` (a HEAD request, as the Docker CLI asks), or undefined on 404. */
export async function registryDigest(repository: string, reference: string): Promise<string | undefined> {
  const response = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  })
  if (response.status === 404) return undefined
  if (!response.ok) throw new Error(`registry answered HTTP ${response.status} for ${repository}:${reference}`)
  return response.headers.get('docker-content-digest') ?? undefined
}

/** A short random suffix, so reruns never meet an earlier run's tags or cache. */
export function unique(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
}
