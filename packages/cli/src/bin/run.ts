import { main } from '../main.js'
import { mark } from '../timing.js'

/**
 * Runs the CLI on `args` as the `kiln` process and resolves to its exit code. Shared by the installed binary (the
 * bundle `kiln.cjs` loads) and the source entry `kiln.ts`.
 */
export async function runCli(args: readonly string[]): Promise<number> {
  mark('cli loaded')
  // A closed pipe (`kiln plan | head`) is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0)
      throw error
    })
  }
  return main(args)
}

/** Flushes stdout and stderr, then ends the process with `code` even if a socket is still open. */
export async function exitCli(code: number): Promise<never> {
  await Promise.all([new Promise((resolve) => process.stdout.write('', resolve)), new Promise((resolve) => process.stderr.write('', resolve))])
  process.exit(code)
}
