import { defineConfig } from 'vitest/config'

// One run over every workspace package; `KILN_E2E=1` selects the end-to-end files instead of unit tests.
export default defineConfig({
  test: {
    projects: ['packages/*', 'plugins/*', 'examples/*', 'test'],
  },
})
