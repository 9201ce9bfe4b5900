/** Helpers for end-to-end tests: run the real built `kiln` binary on real pipelines. */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../dist/bin/kiln.cjs', import.meta.url))

export function requireBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (pnpm exec turbo run build --filter @kiln/cli...)`)
}

export function engineAddress(): string {
  const address = process.env.KILN_ENGINE
  if (!address) throw new Error('end-to-end tests need KILN_ENGINE (e.g. docker:///run/kiln/current/docker.sock)')
  return address
}

export function flavor(): string {
  return process.env.KILN_ENGINE_FLAVOR ?? (engineAddress().includes('legacy') ? 'legacy' : 'current')
}

export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-e2e-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

export interface KilnResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function kiln(args: string[], options: { cwd: string; env?: Record<string, string>; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = { cwd: process.cwd() }): Promise<KilnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, KILN_ENGINE: engineAddress(), CI: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      options.onStderr?.(stderr, child)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}
