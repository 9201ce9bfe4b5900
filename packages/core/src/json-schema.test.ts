import { describe, expect, it } from 'vitest'
import { createRegistry, nodeTypeJsonSchema, pipelineJsonSchema } from './index.js'
import { push, run, testPlugin } from './__fixtures__/plugin.js'

describe('JSON Schema', () => {
  it('describes a node type config as written, with references as strings or { node, output }', () => {
    const schema = nodeTypeJsonSchema(push)
    expect(schema).toMatchObject({
      type: 'object',
      required: ['image', 'to'],
      additionalProperties: false,
      properties: {
        to: { type: 'string' },
        auth: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', 'x-kiln-secret': true },
        image: {
          'x-kiln-reference': ['image'],
          anyOf: [
            { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z_][A-Za-z0-9_-]*)?$' },
            { type: 'object', required: ['node'], additionalProperties: false },
          ],
        },
      },
    })
    const runSchema = nodeTypeJsonSchema(run) as { properties: { mounts: { additionalProperties: unknown } } }
    expect(runSchema.properties.mounts.additionalProperties).toMatchObject({ 'x-kiln-reference': ['filesystem', 'image'] })
  })

  it('describes a whole kiln.yaml, one branch per node type', () => {
    const schema = pipelineJsonSchema(createRegistry([testPlugin])) as {
      properties: { nodes: { additionalProperties: { properties: { type: { enum: string[] } }; allOf: { if: unknown; then: { properties: Record<string, unknown> } }[] } } }
    }
    const nodes = schema.properties.nodes.additionalProperties
    expect(nodes.properties.type.enum).toEqual(['local', 'run', 'image', 'check', 'deploy.push'])
    expect(nodes.allOf).toHaveLength(5)
    expect(nodes.allOf[4]?.if).toEqual({ properties: { type: { const: 'deploy.push' } }, required: ['type'] })
    expect(Object.keys(nodes.allOf[4]?.then.properties ?? {})).toEqual(['image', 'to', 'auth', 'type', 'after'])
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema)
  })
})
