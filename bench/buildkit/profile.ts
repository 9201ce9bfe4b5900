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
import { connect } from '../../packages/buildkit/src/index.js'
import * as llb from '../../packages/buildkit/test/helpers/llb.js'
import type { TreeOptions } from '../../packages/buildkit/test/helpers/tree.js'
import { makeTrickyTree } from '../../packages/buildkit/test/helpers/tree.js'

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
  const client = await connect({ address })
  const session = await client.createSession({ dirs: { context: dir }, sharedKey })
  const local = llb.local('context', { 'local.unique': session.id, 'local.sharedkeyhint': 'context' })
  let transferMs = 0
  let maxLag = 0
  let last = performance.now()
  const lag = setInterval(() => {
    const now = performance.now()
    maxLag = Math.max(maxLag, now - last - 10)
    last = now
  }, 10)
  const cpu = process.cpuUsage()
  const started = Date.now()
  await client.solve({
    definition: llb.definition([local], local),
    session,
    onEvent: (event) => {
      if (event.type === 'status' && event.id.startsWith('transferring') && event.started && event.completed) {
        transferMs = Math.max(transferMs, event.completed.getTime() - event.started.getTime())
      }
    },
  })
  const ms = Date.now() - started
  const used = process.cpuUsage(cpu)
  clearInterval(lag)
  await session.close()
  client.close()
  return `transfer ${transferMs} ms, solve ${ms} ms, cpu ${((used.user + used.system) / 1000).toFixed(0)} ms, max event-loop lag ${maxLag.toFixed(0)} ms`
}

for (let run = 0; run < runs; run++) {
  const key = randomBytes(8).toString('hex')
  console.log(`cold: ${await sync(key)}`)
  console.log(`warm: ${await sync(key)}`)
}
