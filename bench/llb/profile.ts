/**
 * Profiling driver for @kiln/llb: builds and marshals one shape (default the 10k chain) ITERATIONS times, so a
 * `--cpu-prof` or `--heap-prof` profile shows the steady state rather than start-up. Run from packages/llb after
 * `pnpm build`:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/llb-prof --import tsx ../../bench/llb/profile.ts chain 10000 20
 *   node --heap-prof --heap-prof-dir=/tmp/llb-prof --import tsx ../../bench/llb/profile.ts fan-out 10000 20
 *
 * MODE=build or MODE=marshal profiles one phase only (the other still runs, outside the loop being timed).
 */
import { performance } from 'node:perf_hooks'
import { shapes } from './shapes.js'

const [name = 'chain', sizeText = '10000', iterationsText = '20'] = process.argv.slice(2)
const shape = shapes[name]
if (!shape) throw new Error(`Expected a shape (${Object.keys(shapes).join(', ')}), received ${name}`)
const size = Number(sizeText)
const iterations = Number(iterationsText)
let build = 0
let marshal = 0
for (let i = 0; i < iterations; i++) {
  const t0 = performance.now()
  const state = shape(size)
  const t1 = performance.now()
  state.marshal({ platform: 'linux/amd64', maxBytes: Number.MAX_SAFE_INTEGER })
  const t2 = performance.now()
  build += t1 - t0
  marshal += t2 - t1
}
console.log(`${name} ${size} × ${iterations}: build ${(build / iterations).toFixed(1)} ms, marshal ${(marshal / iterations).toFixed(1)} ms (mean)`)
