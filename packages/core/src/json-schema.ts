import { z } from 'zod'
import type { NodeType } from './node-type.js'
import type { Registry } from './plugin.js'

/** A JSON Schema document (draft 2020-12), as plain data. */
export type JsonSchema = Record<string, unknown>

const ID = '^[A-Za-z_][A-Za-z0-9_-]*$'
const REFERENCE = '^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z_][A-Za-z0-9_-]*)?$'

/**
 * The JSON Schema of a node type's config, as written in kiln.yaml (the schema's input side). References become
 * `"nodeId"` / `"nodeId.output"` strings or `{ node, output }` objects.
 */
export function nodeTypeJsonSchema(nodeType: Pick<NodeType, 'schema'>): JsonSchema {
  return z.toJSONSchema(nodeType.schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (context) => {
      const schema = context.jsonSchema as Record<string, unknown>
      const kinds = schema['x-kiln-reference']
      if (!Array.isArray(kinds)) return
      const description = schema.description
      for (const key of Object.keys(schema)) delete schema[key]
      Object.assign(schema, {
        ...(description === undefined ? {} : { description }),
        'x-kiln-reference': kinds,
        anyOf: [
          { type: 'string', pattern: REFERENCE },
          { type: 'object', properties: { node: { type: 'string', pattern: ID }, output: { type: 'string', pattern: ID } }, required: ['node'], additionalProperties: false },
        ],
      })
    },
  }) as JsonSchema
}

/**
 * The JSON Schema of a whole kiln.yaml for the registry's node types: what `kiln schema` writes for editors
 * (yaml-language-server's `$schema`). Each node is checked against the schema of its `type`.
 */
export function pipelineJsonSchema(registry: Registry): JsonSchema {
  const kinds = registry.kinds()
  const branches = kinds.map((kind) => {
    const registered = registry.get(kind)
    const schema = registered === undefined ? {} : nodeTypeJsonSchema(registered.nodeType)
    const { $schema: _ignored, ...rest } = schema
    const properties = { ...(rest.properties as Record<string, unknown> | undefined), type: { const: kind }, after: { type: 'array', items: { type: 'string', pattern: ID } } }
    const description = registered?.nodeType.description
    return {
      if: { properties: { type: { const: kind } }, required: ['type'] },
      then: { ...rest, ...(description === undefined ? {} : { description }), properties },
    }
  })
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Kiln pipeline',
    type: 'object',
    properties: {
      plugins: { type: 'array', items: { type: 'string' } },
      params: {
        type: 'object',
        additionalProperties: {
          anyOf: [
            { type: ['string', 'number', 'boolean'] },
            { type: 'object', properties: { default: { type: ['string', 'number', 'boolean'] }, description: { type: 'string' } }, additionalProperties: false },
          ],
        },
      },
      secrets: { type: 'object', additionalProperties: { type: 'object', properties: { env: { type: 'string' }, file: { type: 'string' }, description: { type: 'string' } } } },
      nodes: {
        type: 'object',
        propertyNames: { pattern: ID },
        additionalProperties: { type: 'object', required: ['type'], properties: { type: { enum: kinds } }, allOf: branches },
      },
    },
    required: ['nodes'],
    additionalProperties: false,
  }
}
