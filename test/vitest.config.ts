import { defineConfig, mergeConfig } from 'vitest/config'
import { packageConfig } from '../vitest.shared.ts'

const e2e = process.env.KILN_E2E === '1'
export default mergeConfig(
  packageConfig(),
  defineConfig({ test: { include: e2e ? ['**/*.e2e.test.ts'] : ['*.test.ts', 'unit/**/*.test.ts'] } }),
)
