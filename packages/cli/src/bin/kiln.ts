#!/usr/bin/env node
// The `kiln` binary. `--version` answers before anything heavy is imported.
import module from 'node:module'
import { cliVersion } from '../version.js'

// Node 22.1+ keeps V8's compiled code of the CLI's modules between runs (Node 20 has no compile cache: a no-op).
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()
// A closed pipe (`kiln plan | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
}
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${cliVersion()}\n`)
} else {
  const { main } = await import('../main.js')
  const { mark } = await import('../timing.js')
  mark('cli loaded')
  const code = await main(args)
  // Only the CLI exits: flush stdout/stderr first, then leave even if a socket is still open.
  await Promise.all([new Promise((resolve) => process.stdout.write('', resolve)), new Promise((resolve) => process.stderr.write('', resolve))])
  process.exit(code)
}
