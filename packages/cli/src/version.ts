import { createRequire } from 'node:module'

/** The CLI's version from its package.json (kept cheap: no other import; the bundled binary has it inlined). */
export function cliVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version
}
