#!/usr/bin/env node
// The `kiln` binary. `--version` answers before anything heavy is imported.
// A closed pipe (`kiln plan | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
}
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { cliVersion } = await import('../version.js')
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
