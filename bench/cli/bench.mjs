// kiln CLI benchmarks: start-up (`--version`, `plan`), 16 independent one-second nodes, and a fully cached re-run of
// the multi-node pipeline side by side with `docker build` of the equivalent multi-stage Dockerfile on the same engine.
// Usage: node bench/cli/bench.mjs   (KILN_ENGINE defaults to the project's current engine; RUNS=N repetitions;
// ONLY=startup,parallel,cached picks rows; KILN_BIN=path measures another build of the binary, without rebuilding)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const bin = process.env.KILN_BIN ? resolve(process.env.KILN_BIN) : join(root, 'packages', 'cli', 'dist', 'bin', 'kiln.cjs')
const multi = join(here, 'multi')
const only = new Set((process.env.ONLY ?? 'startup,parallel,cached').split(','))
const engine = process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock'
const socket = engine.replace(/^docker:\/\//, '')
const runs = Number(process.env.RUNS ?? 7)
const env = { ...process.env, KILN_ENGINE: engine, CI: '1' }

function time(command, args, options = {}) {
  const start = process.hrtime.bigint()
  const result = spawnSync(command, args, { env, encoding: 'utf8', ...options })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`)
  return { ms, result }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`)
const rows = []
const row = (name, values, target) => {
  rows.push([name, fmt(median(values)), fmt(Math.min(...values)), target])
  console.error(`${name}: median ${fmt(median(values))} (min ${fmt(Math.min(...values))}, ${values.length} runs)`)
}

const load = () => loadavg().map((value) => value.toFixed(2)).join(' ')
console.error(`load average ${load()}; node ${process.version}; engine ${engine}; ${bin}`)
// The binary is the launcher and tsc's output bundled by esbuild (packages/cli/scripts/bundle.mjs): build both steps.
if (!process.env.KILN_BIN) spawnSync('pnpm', ['run', 'build'], { cwd: join(root, 'packages', 'cli'), stdio: 'inherit' })

if (only.has('startup')) {
// NODE_EXTRA_CA_CERTS (set on the project's machines) makes every Node process load its CA bundle at start-up,
// before any JavaScript runs: the rows without it show what Node itself costs elsewhere.
const noExtraCa = { env: { ...env, NODE_EXTRA_CA_CERTS: '' } }
delete noExtraCa.env.NODE_EXTRA_CA_CERTS
const extraCa = env.NODE_EXTRA_CA_CERTS ? ` (NODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS})` : ''
row(`node -e 0 (baseline)${extraCa}`, Array.from({ length: runs }, () => time(process.execPath, ['-e', '0']).ms), '')
row(`kiln --version${extraCa}`, Array.from({ length: runs }, () => time(process.execPath, [bin, '--version']).ms), '< 150 ms')
if (extraCa) {
  row('node -e 0 (baseline), without NODE_EXTRA_CA_CERTS', Array.from({ length: runs }, () => time(process.execPath, ['-e', '0'], noExtraCa).ms), '')
  row('kiln --version, without NODE_EXTRA_CA_CERTS', Array.from({ length: runs }, () => time(process.execPath, [bin, '--version'], noExtraCa).ms), '< 150 ms')
}
// The first run of a new binary compiles the bundle (and fills the code cache); later runs use the cache.
const noCache = { cwd: multi, env: { ...env, KILN_NO_COMPILE_CACHE: '1' } }
time(process.execPath, [bin, 'plan'], noCache)
row('kiln plan (multi-node example), no code cache', Array.from({ length: runs }, () => time(process.execPath, [bin, 'plan'], noCache).ms), '')
time(process.execPath, [bin, 'plan'], { cwd: multi })
row('kiln plan (multi-node example)', Array.from({ length: runs }, () => time(process.execPath, [bin, 'plan'], { cwd: multi }).ms), '< 500 ms')
}

if (only.has('parallel')) {
// 16 independent one-second nodes; a fresh value each run so nothing is cached.
const parallel = []
for (let run = 0; run < Math.min(runs, 5); run++) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-16-'))
  const nodes = Array.from({ length: 16 }, (_, index) => `  n${index}: { type: run, from: busybox:latest, script: 'sleep 1; echo ${Date.now()}-${run}-${index}' }`)
  writeFileSync(join(dir, 'kiln.yaml'), `nodes:\n${nodes.join('\n')}\n`)
  parallel.push(time(process.execPath, [bin, 'run', '--progress', 'plain'], { cwd: dir }).ms)
  rmSync(dir, { recursive: true, force: true })
}
row('kiln run: 16 independent 1 s nodes', parallel, '< 1.5 s')

// The engine's own floor for the same work: docker build of 16 independent 1 s stages (fresh values, so not cached).
const dockerParallel = []
for (let run = 0; run < Math.min(runs, 5); run++) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-16d-'))
  const stages = Array.from({ length: 16 }, (_, index) => `FROM busybox:latest AS s${index}\nRUN sleep 1; echo ${Date.now()}-${run}-${index} > /r${index}\n`)
  writeFileSync(join(dir, 'Dockerfile'), `${stages.join('\n')}\nFROM scratch\n${Array.from({ length: 16 }, (_, index) => `COPY --from=s${index} /r${index} /`).join('\n')}\n`)
  dockerParallel.push(time('/usr/bin/docker', ['-H', `unix://${socket}`, 'build', '-q', '--network', 'none', dir], { env: { ...env, DOCKER_BUILDKIT: '1' } }).ms)
  rmSync(dir, { recursive: true, force: true })
}
row('docker build: 16 independent 1 s stages', dockerParallel, '')
}

if (only.has('cached')) {
// Fully cached re-runs: warm both once, then measure.
time(process.execPath, [bin, 'run', '--progress', 'plain'], { cwd: multi })
row('kiln run (multi-node, fully cached)', Array.from({ length: runs }, () => time(process.execPath, [bin, 'run', '--progress', 'plain'], { cwd: multi }).ms), '≤ docker build')
const docker = ['-H', `unix://${socket}`, 'build', '-q', '--network', 'none', '-t', 'kiln-bench-multi:docker', multi]
time('/usr/bin/docker', docker, { env: { ...env, DOCKER_BUILDKIT: '1' } })
row('docker build (same pipeline, fully cached)', Array.from({ length: runs }, () => time('/usr/bin/docker', docker, { env: { ...env, DOCKER_BUILDKIT: '1' } }).ms), '')
rmSync(join(multi, 'dist'), { recursive: true, force: true })
}

console.error(`load average at the end ${load()}`)
console.log('| what | median | min | target |\n| --- | --- | --- | --- |')
for (const [name, med, min, target] of rows) console.log(`| ${name} | ${med} | ${min} | ${target} |`)
