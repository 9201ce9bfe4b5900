import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from './support/kiln.ts'

// Installing only what is needed: pack the packages, install only @kiln/cli from those tarballs into a fresh folder
// outside the workspace, run a pipeline with `npx kiln`; then add one plugin tarball and use its node type.
const packages = ['packages/core', 'packages/llb', 'packages/buildkit', 'plugins/std', 'packages/cli', 'plugins/dockerfile']
const work = mkdtempSync(join(tmpdir(), 'kiln-packaging-'))
const tarballs = join(work, 'tarballs')
const project = join(work, 'project')
const tarball: Record<string, string> = {}

function sh(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', npm_config_yes: 'true' } })
}

function npx(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    return { code: 0, stdout: sh('npx', ['--no-install', 'kiln', ...args], project), stderr: '' }
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string }
    return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr }
  }
}

function writePackageJson(dependencies: Record<string, string>) {
  // The workspace's internal packages resolve to the local tarballs, never to the registry.
  const overrides = Object.fromEntries(Object.entries(tarball).map(([name, file]) => [name, `file:${file}`]))
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'packaging-test', private: true, type: 'module', dependencies, overrides }, null, 2))
}

beforeAll(() => {
  mkdirSync(tarballs)
  for (const dir of packages) {
    const manifest = JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string }
    const file = sh('pnpm', ['pack', '--pack-destination', tarballs], join(repoRoot, dir)).trim().split('\n').at(-1)!
    tarball[manifest.name] = file
  }
  mkdirSync(project)
}, 300_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('packaging', () => {
  it('each tarball holds built code and no workspace-only paths', () => {
    for (const [name, file] of Object.entries(tarball)) {
      const listing = sh('tar', ['-tzf', file], work)
      expect(listing, name).toContain('package/dist/index.js')
      expect(listing, name).not.toMatch(/package\/src\/|\.test\.|tsconfig/)
      const manifest = JSON.parse(sh('tar', ['-xzOf', file, 'package/package.json'], work)) as { dependencies?: Record<string, string> }
      expect(JSON.stringify(manifest.dependencies ?? {}), name).not.toContain('workspace:')
    }
  })

  it('installs @kiln/cli alone and runs a pipeline with npx kiln', () => {
    writePackageJson({ '@kiln/cli': `file:${tarball['@kiln/cli']}` })
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], project)
    const installed = readdirSync(join(project, 'node_modules/@kiln')).sort()
    expect(installed).toEqual(['buildkit', 'cli', 'core', 'llb', 'plugin-std'])
    writeFileSync(
      join(project, 'kiln.yaml'),
      ['nodes:', '  hi:', '    type: run', '    from: busybox:latest', '    script: mkdir /o && echo packaged > /o/hi.txt', '    outputs: { o: /o }', '  out:', '    type: export', '    from: hi.o', '    to: { local: out }', ''].join('\n'),
    )
    expect(npx(['--version']).stdout.trim()).toBe('0.1.0')
    const result = npx(['run', '--progress', 'plain'])
    expect(result.code, result.stderr + result.stdout).toBe(0)
    expect(readFileSync(join(project, 'out/hi.txt'), 'utf8')).toBe('packaged\n')
  })

  it('a node type from a plugin that is not installed is a clear error naming the package', () => {
    writeFileSync(join(project, 'kiln.yaml'), ['plugins: ["@kiln/plugin-dockerfile"]', 'nodes:', '  img: { type: dockerfile, context: ., inline: "FROM busybox:latest" }', ''].join('\n'))
    const result = npx(['validate'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('@kiln/plugin-dockerfile')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('adding the plugin tarball makes its node type available', () => {
    writePackageJson({ '@kiln/cli': `file:${tarball['@kiln/cli']}`, '@kiln/plugin-dockerfile': `file:${tarball['@kiln/plugin-dockerfile']}` })
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], project)
    writeFileSync(
      join(project, 'kiln.yaml'),
      [
        'nodes:',
        '  img: { type: dockerfile, context: ., inline: "FROM busybox:latest\\nRUN mkdir /o && echo from-dockerfile > /o/f.txt\\n" }',
        '  out: { type: export, from: img, to: { local: built } }',
        '',
      ].join('\n'),
    )
    const result = npx(['run', '--progress', 'plain'])
    expect(result.code, result.stderr + result.stdout).toBe(0)
    expect(readFileSync(join(project, 'built/o/f.txt'), 'utf8')).toBe('from-dockerfile\n')
  })
})
