// Builds the CLI as it was at a commit (packages/cli/src only, file by file as tsc emits it, not bundled) into
// packages/cli/node_modules/.kiln-at/<commit>/, next to the workspace's core, llb, buildkit and plugin-std, so
// `KILN_BIN=<printed path> node bench/cli/bench.mjs` measures the same machine and engine with the older CLI.
// Usage: node bench/cli/build-at.mjs <commit>
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
// esbuild is a dev dependency of @kiln/cli.
const { buildSync } = createRequire(join(root, 'packages', 'cli', 'package.json'))('esbuild')
const commit = process.argv[2]
if (!commit) throw new Error('usage: node bench/cli/build-at.mjs <commit>')
const sha = execFileSync('git', ['rev-parse', '--short', commit], { cwd: root, encoding: 'utf8' }).trim()
const source = mkdtempSync(join(tmpdir(), 'kiln-at-'))
writeFileSync(join(source, 'src.tar'), execFileSync('git', ['archive', sha, 'packages/cli/src'], { cwd: root }))
execFileSync('tar', ['-xf', 'src.tar'], { cwd: source })
const src = join(source, 'packages', 'cli', 'src')
const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) name !== '__fixtures__' && walk(path)
    else if (path.endsWith('.ts') && !path.includes('.test.')) files.push(path)
  }
}
walk(src)
// The package's own folder: dist/ plus its package.json, so `../package.json` and the CLI's directory resolve.
const out = join(root, 'packages', 'cli', 'node_modules', '.kiln-at', sha)
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
copyFileSync(join(root, 'packages', 'cli', 'package.json'), join(out, 'package.json'))
buildSync({ entryPoints: files, outdir: join(out, 'dist'), outbase: src, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' })
rmSync(source, { recursive: true, force: true })
console.log(join(out, 'dist', 'bin', 'kiln.js'))
