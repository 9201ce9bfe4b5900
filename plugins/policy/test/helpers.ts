import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The engine under test: `KILN_ENGINE`, default the current flavor. */
export const ENGINE = process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock'
const REPO = fileURLToPath(new URL('../../../', import.meta.url))
// tsx from this package's own dev dependencies (a clean install hoists nothing to the root).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href

export interface Run {
  code: number
  output: string
}

/** Runs the `kiln` CLI from its sources, as a user would, on the engine under test. */
export function kiln(projectDir: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@kiln/source', '--import', TSX, join(REPO, 'packages/cli/src/bin/kiln.ts'), '-C', projectDir, '--engine', ENGINE, '--progress', 'plain', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, output: Buffer.concat(chunks).toString('utf8') }))
  })
}

/** Writes a project in a temporary directory with the policy and deploy plugins linked into its node_modules. */
export async function writeProject(files: Readonly<Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-policy-e2e-'))
  await mkdir(join(dir, 'node_modules/@kiln'), { recursive: true })
  for (const name of ['policy', 'deploy']) await symlink(join(REPO, 'plugins', name), join(dir, `node_modules/@kiln/plugin-${name}`))
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  return dir
}
