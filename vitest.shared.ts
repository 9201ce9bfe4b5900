import { defineConfig } from 'vitest/config'

/**
 * Shared vitest settings for every workspace package. Packages resolve each other through the
 * `@kiln/source` export condition, so tests run against sources without a build step.
 */
export const sourceConditions = ['@kiln/source', 'node', 'import', 'module', 'default']

export function packageConfig(options: { e2e?: boolean } = {}) {
  const e2e = options.e2e ?? process.env.KILN_E2E === '1'
  return defineConfig({
    resolve: { conditions: sourceConditions },
    ssr: { resolve: { conditions: sourceConditions, externalConditions: sourceConditions } },
    test: {
      include: e2e ? ['**/*.e2e.test.ts'] : ['src/**/*.test.ts', 'test/**/*.test.ts'],
      exclude: e2e ? ['**/node_modules/**', '**/dist/**'] : ['**/node_modules/**', '**/dist/**', '**/*.e2e.test.ts'],
      testTimeout: e2e ? 180_000 : 10_000,
      hookTimeout: e2e ? 180_000 : 10_000,
      typecheck: { enabled: false },
    },
  })
}
