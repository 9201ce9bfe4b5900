import { nodeTypeJsonSchema } from '@kiln/core'
import { describe, expect, it } from 'vitest'
import { filesCheck, imageCheck } from './index.js'

describe('JSON Schema for editors (kiln schema)', () => {
  it('describes policy.image with its reference field, rules and severity', () => {
    const schema = nodeTypeJsonSchema(imageCheck) as { properties: Record<string, Record<string, unknown>>; required?: string[]; additionalProperties?: unknown }
    expect(Object.keys(schema.properties)).toEqual(['image', 'severity', 'rules'])
    expect(schema.required).toEqual(['image', 'rules'])
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.severity).toMatchObject({ enum: ['warn', 'deny'], default: 'deny' })
    expect(schema.properties.rules).toMatchObject({ properties: { nonRoot: { type: 'boolean', default: false }, requiredLabels: { type: 'array', items: { type: 'string', minLength: 1 } } } })
  })

  it('describes policy.files with defaults', () => {
    const schema = nodeTypeJsonSchema(filesCheck) as { properties: Record<string, Record<string, unknown>>; required?: string[] }
    expect(Object.keys(schema.properties)).toEqual(['from', 'path', 'forbid', 'secretScan', 'exclude', 'maxFileSize', 'severity'])
    expect(schema.required).toEqual(['from'])
    expect(schema.properties.path).toMatchObject({ type: 'string', default: '/' })
    expect(schema.properties.maxFileSize).toMatchObject({ type: 'integer', default: 16 * 1024 * 1024 })
  })
})
