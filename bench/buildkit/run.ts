/**
 * Context transfer and cached re-solve: Kiln's client against `docker build` (Debian's docker CLI with buildx) on
 * the same engine and the same trees. Prints a Markdown table. Usage (from the repo root):
 *
 *   pnpm --filter @kiln/buildkit bench [current|legacy]
 *
 * Figures are wall-clock milliseconds; the machine is shared, so compare the columns of one run, not runs.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { makeTrickyTree } from '../../packages/buildkit/test/helpers/tree.js'
import { transferContext } from './transfer.js'

const flavor = process.argv[2] ?? 'current'
const repo = resolve(import.meta.dirname, '../..')
const engineCli = execFileSync('bash', [join(repo, 'scripts/engine.sh'), 'cli', flavor], { encoding: 'utf8' }).trim()
const socket = `/run/kiln/${flavor}/docker.sock`
const address = `docker://${socket}`
const runs = Number(process.env.KILN_BENCH_RUNS ?? 3)
const work = mkdtempSync(join(tmpdir(), 'kiln-bench-'))

/** A docker CLI config dir with buildx; a new one means a new buildx node id, so a cold (non-incremental) transfer. */
function dockerConfig(): string {
  const dir = mkdtempSync(join(work, 'docker-config-'))
  const plugin = join(engineCli, '../../libexec/docker/cli-plugins/docker-buildx')
  mkdirSync(join(dir, 'cli-plugins'))
  try {
    symlinkSync(resolve(plugin), join(dir, 'cli-plugins', 'docker-buildx'))
  } catch {
    // the legacy CLI has no buildx: docker build then uses its built-in BuildKit client
  }
  return dir
}

interface DockerRun {
  wallMs: number
  contextMs: number | undefined
}

function dockerBuild(context: string, config: string): DockerRun {
  const dockerfile = join(work, 'Dockerfile')
  // COPY . makes the frontend ask for the whole context (with narrower COPYs it asks only for those paths).
  writeFileSync(dockerfile, 'FROM busybox:latest\nCOPY . /ctx\n')
  const started = Date.now()
  const result = spawnSync(engineCli, ['build', '--progress=plain', '-f', dockerfile, context], {
    env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: config, DOCKER_BUILDKIT: '1' },
    encoding: 'utf8',
  })
  const wallMs = Date.now() - started
  if (result.status !== 0) throw new Error(`docker build failed: ${result.stderr}`)
  // "#5 transferring context: 1.35MB 6.9s done": the biggest transfer of the build.
  // "transferring context: 2B done" (no time) means it took under 0.05 s.
  const times = [...result.stderr.matchAll(/transferring context: \S+(?: ([\d.]+)s)? done/g)].map((match) => Number(match[1] ?? 0) * 1000)
  return { wallMs, contextMs: times.length ? Math.max(...times) : undefined }
}

async function kilnSync(context: string, sharedKey: string): Promise<{ ms: number; transferMs: number; peakRss: number }> {
  let peakRss = process.memoryUsage().rss
  let sampler: ReturnType<typeof setInterval> | undefined
  const { ms, transferMs } = await transferContext(address, context, sharedKey, {
    start: () => (sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)),
    stop: () => clearInterval(sampler),
  })
  return { ms, transferMs, peakRss }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`

async function scenario(name: string, build: (dir: string) => Promise<void>): Promise<string[]> {
  const dir = join(work, name)
  mkdirSync(dir)
  await build(dir)
  writeFileSync(join(dir, 'marker'), 'x')
  const kiln: number[] = []
  const kilnTransfer: number[] = []
  const rss: number[] = []
  const docker: number[] = []
  const dockerWall: number[] = []
  for (let run = 0; run < runs; run++) {
    const cold = await kilnSync(dir, randomBytes(8).toString('hex'))
    kiln.push(cold.ms)
    kilnTransfer.push(cold.transferMs)
    rss.push(cold.peakRss)
    const result = dockerBuild(dir, dockerConfig())
    if (result.contextMs !== undefined) docker.push(result.contextMs)
    dockerWall.push(result.wallMs)
  }
  // Re-sending the unchanged tree: same shared key (Kiln) / same buildx node (docker), nothing changed.
  const key = randomBytes(8).toString('hex')
  await kilnSync(dir, key)
  const warmKiln: number[] = []
  const warmKilnTransfer: number[] = []
  for (let run = 0; run < runs; run++) {
    const warm = await kilnSync(dir, key)
    warmKiln.push(warm.ms)
    warmKilnTransfer.push(warm.transferMs)
  }
  const config = dockerConfig()
  dockerBuild(dir, config)
  const warmDocker: number[] = []
  const warmDockerWall: number[] = []
  for (let run = 0; run < runs; run++) {
    const result = dockerBuild(dir, config)
    if (result.contextMs !== undefined) warmDocker.push(result.contextMs)
    warmDockerWall.push(result.wallMs)
  }
  const ratio = (dockerMs: number[], kilnMs: number[]): string => (dockerMs.length && median(kilnMs) > 0 ? (median(dockerMs) / median(kilnMs)).toFixed(2) : 'n/a')
  return [
    `| ${name}: first transfer | ${median(kilnTransfer)} | ${docker.length ? median(docker) : 'n/a'} | ${ratio(docker, kilnTransfer)} | ${median(kiln)} | ${median(dockerWall)} | ${mb(Math.max(...rss))} |`,
    `| ${name}: unchanged re-send | ${median(warmKilnTransfer)} | ${warmDocker.length ? median(warmDocker) : 'n/a'} | ${ratio(warmDocker, warmKilnTransfer)} | ${median(warmKiln)} | ${median(warmDockerWall)} | |`,
  ]
}

try {
  const rows = [
    ...(await scenario('200 MB file', (dir) => makeTrickyTree(dir, { bigFileBytes: 200 * 1024 * 1024 }))),
    ...(await scenario('20k small files', (dir) => makeTrickyTree(dir, { smallFiles: 20_000 }))),
  ]
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ')
  console.log(`engine: ${flavor} (${address}), runs: ${runs}, load average at the end: ${load}\n`)
  console.log('| scenario | kiln: transfer (ms) | docker build: transfer (ms) | ratio docker/kiln | kiln: whole solve (ms) | docker build: wall (ms) | kiln peak RSS |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const row of rows) console.log(row)
} finally {
  rmSync(work, { recursive: true, force: true })
}
