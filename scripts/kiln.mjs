// `pnpm kiln ...` from the repository: build the CLI and what it depends on (turbo, cached: a no-op when nothing
// changed), then run the built `kiln` with the given arguments. Users of the published package run `kiln` directly.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.env.TURBO_TELEMETRY_DISABLED ??= '1'
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@kiln/cli...', '--output-logs=errors-only', '--log-prefix=none'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
})
if (build.status !== 0) {
  console.error('kiln: building the CLI failed; run `pnpm build` to see why')
  process.exit(build.status ?? 1)
}
const run = spawnSync(process.execPath, [`${root}/packages/cli/dist/bin/kiln.cjs`, ...process.argv.slice(2)], { stdio: 'inherit', cwd: process.env.INIT_CWD ?? process.cwd() })
if (run.signal) process.kill(process.pid, run.signal)
process.exit(run.status ?? 1)
