/**
 * One scenario at a time, for profiling Kiln's side of the context transfer (no docker build). Usage:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/buildkit/profile.ts current small|big|mixed [runs]
 *
 * Prints, per run, the engine's transfer time and the whole solve for a cold transfer (fresh shared key) and an
 * unchanged re-send (same key), plus the CPU time this process used.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TreeOptions } from '../../packages/buildkit/test/helpers/tree.js'
import { makeTrickyTree } from '../../packages/buildkit/test/helpers/tree.js'
import { transferContext } from './transfer.js'

const flavor = process.argv[2] ?? 'current'
const scenario = process.argv[3] ?? 'small'
const runs = Number(process.argv[4] ?? 1)
const address = `docker:///run/kiln/${flavor}/docker.sock`
const dir = join(tmpdir(), `kiln-profile-${scenario}`)

if (!existsSync(join(dir, 'marker'))) {
  mkdirSync(dir, { recursive: true })
  // small: 20 000 small files; big: one 200 MB file; mixed: both (the e2e round-trip tree).
  const trees: Record<string, TreeOptions | undefined> = {
    small: { smallFiles: 20_000 },
    big: { bigFileBytes: 200 * 1024 * 1024 },
    mixed: { bigFileBytes: 200 * 1024 * 1024, smallFiles: 20_000 },
  }
  const tree = trees[scenario]
  if (!tree) throw new Error(`unknown scenario ${scenario}: small, big or mixed`)
  await makeTrickyTree(dir, tree)
  writeFileSync(join(dir, 'marker'), 'x')
}

async function sync(sharedKey: string): Promise<string> {
  let maxLag = 0
  let last = 0
  let lag: ReturnType<typeof setInterval> | undefined
  let cpu = process.cpuUsage()
  let used = cpu
  const { ms, transferMs } = await transferContext(address, dir, sharedKey, {
    start: () => {
      last = performance.now()
      lag = setInterval(() => {
        const now = performance.now()
        maxLag = Math.max(maxLag, now - last - 10)
        last = now
      }, 10)
      cpu = process.cpuUsage()
    },
    stop: () => {
      used = process.cpuUsage(cpu)
      clearInterval(lag)
    },
  })
  return `transfer ${transferMs} ms, solve ${ms} ms, cpu ${((used.user + used.system) / 1000).toFixed(0)} ms, max event-loop lag ${maxLag.toFixed(0)} ms`
}

for (let run = 0; run < runs; run++) {
  const key = randomBytes(8).toString('hex')
  console.log(`cold: ${await sync(key)}`)
  console.log(`warm: ${await sync(key)}`)
}
