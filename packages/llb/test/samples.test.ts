import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateDefinition } from '../src/index.js'
import { CASES } from './cases.js'

const UPDATE = process.env.KILN_UPDATE_SAMPLES === '1'
const base = new URL('./samples/', import.meta.url)

describe('golden samples (test/samples/<case>/)', () => {
  for (const [name, { state, options }] of Object.entries(CASES)) {
    it(name, () => {
      const definition = state.marshal({ platform: 'linux/amd64', localUniqueId: 'golden', ...options })
      validateDefinition(definition.bytes, options?.caps ? { caps: options.caps } : {})
      // The exact `buildctl debug dump-llb` lines: int64 timestamps do not survive a JSON.parse round trip.
      const json = definition.dumpJson()
      const digest = `${definition.digest}\n`
      const dir = new URL(`${name}/`, base)
      if (UPDATE) {
        mkdirSync(dir, { recursive: true })
        writeFileSync(new URL('definition.jsonl', dir), json)
        writeFileSync(new URL('digest', dir), digest)
      }
      expect(existsSync(new URL('digest', dir)), `missing sample ${name}; run with KILN_UPDATE_SAMPLES=1`).toBe(true)
      expect(digest).toBe(readFileSync(new URL('digest', dir), 'utf8'))
      expect(json).toBe(readFileSync(new URL('definition.jsonl', dir), 'utf8'))
    })
  }
})
