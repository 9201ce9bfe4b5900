import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** The built `kiln` binary, as users run it (scripts/test.sh builds every package before the end-to-end runs). */
export const kilnBin = `${repoRoot}/packages/cli/dist/bin/kiln.cjs`

export interface KilnResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the built `kiln` with `args` against the engine the end-to-end run was given (KILN_ENGINE). */
export function kiln(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<KilnResult> {
  if (!existsSync(kilnBin)) throw new Error(`${kilnBin} is missing: run \`pnpm build\` first (scripts/test.sh does)`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [kilnBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The `run.summary` event of a `--progress json` run: each node's status. */
export function summary(stdout: string): Record<string, string> {
  const line = stdout.split('\n').find((text) => text.includes('"type":"run.summary"'))
  if (!line) throw new Error(`no run.summary event in:\n${stdout.slice(-2000)}`)
  const event = JSON.parse(line) as { results: { nodeId: string; status: string }[] }
  return Object.fromEntries(event.results.map((result) => [result.nodeId, result.status]))
}
