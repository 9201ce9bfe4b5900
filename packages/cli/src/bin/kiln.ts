#!/usr/bin/env node
// The CLI from its sources or tsc's dist/ (tests, `tsx src/bin/kiln.ts`). The installed binary is kiln.cjs, which
// runs the same `runCli` from the bundle; `--version` answers before anything heavy is imported in both.
import { cliVersion } from '../version.js'
import { isVersionRequest } from './version-flag.js'

const args = process.argv.slice(2)
if (isVersionRequest(args)) {
  process.stdout.write(`${cliVersion()}\n`)
} else {
  const { exitCli, runCli } = await import('./run.js')
  await exitCli(await runCli(args))
}
