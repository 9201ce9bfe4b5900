import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { UsageError } from '../errors.js'
import type { CommandContext } from '../main.js'
import { resolveCommand } from './shared.js'

export const STARTER = `# yaml-language-server: $schema=.kiln/schema.json
# A starter pipeline: run it with \`kiln run\`; \`kiln plan\` shows what would run, \`kiln graph\` draws it.
params:
  greeting: { default: hello }
nodes:
  hello:
    type: run
    from: busybox:latest
    script: mkdir -p /out && echo "\${{ params.greeting }} from kiln" > /out/greeting.txt && cat /out/greeting.txt
    outputs: { out: /out }
  check:
    type: run
    from: busybox:latest
    mounts: { /in: hello.out }
    script: grep -q kiln /in/greeting.txt
`

/** \`kiln init\`: writes a starter kiln.yaml that runs. */
export async function initCommand(context: CommandContext): Promise<number> {
  const { cwd, err } = resolveCommand(context)
  const path = join(cwd, 'kiln.yaml')
  if (existsSync(path) && context.options.force !== true) throw new UsageError(`${relative(context.io.cwd, path) || path} already exists`, { hint: 'pass --force to overwrite it' })
  if (existsSync(join(cwd, 'kiln.ts'))) throw new UsageError('kiln.ts already exists here', { hint: 'a directory holds either kiln.ts or kiln.yaml' })
  await writeFile(path, STARTER)
  err(`wrote ${relative(context.io.cwd, path) || 'kiln.yaml'}; next: kiln run\n`)
  return 0
}
