import { ESLint } from 'eslint'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const eslint = new ESLint({ cwd: root })

async function lint(filePath: string, text: string) {
  const [result] = await eslint.lintText(text, { filePath: `${root}/${filePath}` })
  return (result?.messages ?? []).filter((message) => message.ruleId === 'no-restricted-imports')
}

describe('layering (DESIGN.md: arrows point down only)', () => {
  it.each([
    ['packages/core/src/violation.ts', "import { image } from '@kiln/llb'\nexport const x = image", '@kiln/core is the contract'],
    ['packages/core/src/violation.ts', "import { readFileSync } from 'node:fs'\nexport const x = readFileSync", '@kiln/core is the contract'],
    ['packages/core/src/violation.ts', "import { container } from 'tsyringe'\nexport const x = container", '@kiln/core is the contract'],
    ['packages/llb/src/violation.ts', "import { definePlugin } from '@kiln/core'\nexport const x = definePlugin", '@kiln/llb imports no other workspace package'],
    ['packages/llb/src/violation.ts', "import * as grpc from '@grpc/grpc-js'\nexport const x = grpc", '@kiln/llb imports no other workspace package'],
    ['packages/buildkit/src/violation.ts', "import { main } from '@kiln/cli'\nexport const x = main", '@kiln/buildkit may import only'],
    ['plugins/deploy/src/violation.ts', "import { connect } from '@kiln/buildkit'\nexport const x = connect", 'A plugin depends on @kiln/core and @kiln/llb only'],
    ['plugins/std/src/violation.ts', "import { container } from 'tsyringe'\nexport const x = container", 'A plugin depends on @kiln/core and @kiln/llb only'],
  ])('%s: %s is rejected', async (filePath, text, message) => {
    const messages = await lint(filePath, text)
    expect(messages).toHaveLength(1)
    expect(messages[0]?.message).toContain(message)
  })

  it.each([
    ['packages/cli/src/ok.ts', "import { container } from 'tsyringe'\nimport { connect } from '@kiln/buildkit'\nexport const x = [container, connect]"],
    ['plugins/std/src/ok.ts', "import { definePlugin } from '@kiln/core'\nimport { image } from '@kiln/llb'\nexport const x = [definePlugin, image]"],
    ['packages/buildkit/src/ok.ts', "import { isCoreError } from '@kiln/core'\nimport { image } from '@kiln/llb'\nexport const x = [isCoreError, image]"],
  ])('%s: allowed imports pass', async (filePath, text) => {
    expect(await lint(filePath, text)).toEqual([])
  })
})
