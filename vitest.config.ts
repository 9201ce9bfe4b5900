import { defineConfig } from 'vitest/config'

// One run over every workspace package; `KILN_E2E=1` selects the end-to-end files instead of unit tests.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'plugins/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'examples/*/*/vitest.config.ts', 'test/vitest.config.ts'],
    // Until every flavor has end-to-end files, a run with none is not an error; scripts/test.sh counts what ran.
    passWithNoTests: true,
  },
})
