import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { z, type Registry } from '@kiln/core'
import type { CommandContext } from '../main.js'
import { resolveCommand } from './shared.js'

type JsonSchema = Record<string, unknown>

const ID = '^[A-Za-z_][A-Za-z0-9_-]*$'

/** The JSON Schema of a config's node entry for one node type: its schema's input side plus `type` and `after`. */
export function nodeTypeSchema(kind: string, schema: z.ZodType, description?: string): JsonSchema {
  const body = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (context) => {
      const json = context.jsonSchema as JsonSchema
      if (Array.isArray(json['x-kiln-reference'])) {
        json.anyOf = [
          { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z_][A-Za-z0-9_-]*)?$' },
          { type: 'object', properties: { node: { type: 'string' }, output: { type: 'string' } }, required: ['node'], additionalProperties: false },
        ]
      }
      if (json['x-kiln-secret'] === true) json.type = 'string'
    },
  }) as JsonSchema
  delete body.$schema
  const properties = { ...((body.properties as JsonSchema | undefined) ?? {}) }
  return {
    ...body,
    ...(description === undefined ? {} : { description }),
    type: 'object',
    properties: {
      type: { const: kind },
      after: { type: 'array', items: { type: 'string', pattern: ID }, description: 'Node ids this node runs after, without taking their outputs.' },
      ...properties,
    },
    required: ['type', ...((body.required as string[] | undefined) ?? [])],
  }
}

/** The whole kiln.yaml schema: top-level keys, and each node validated by the schema of its `type`. */
export function configSchema(registry: Registry): JsonSchema {
  const kinds = registry.kinds()
  const branches = kinds.map((kind) => {
    const registered = registry.get(kind)
    const schema = registered ? nodeTypeSchema(kind, registered.nodeType.schema, registered.nodeType.description) : {}
    return { if: { properties: { type: { const: kind } }, required: ['type'] }, then: schema }
  })
  const scalar = { type: ['string', 'number', 'boolean'] }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'kiln.yaml',
    description: 'A Kiln pipeline: nodes by id, each with a type from an installed plugin.',
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      version: { type: ['string', 'number'] },
      plugins: {
        type: 'array',
        items: { anyOf: [{ type: 'string' }, { type: 'object', properties: { name: { type: 'string' }, options: {} }, required: ['name'], additionalProperties: false }] },
      },
      params: {
        type: 'object',
        additionalProperties: { anyOf: [scalar, { type: 'object', properties: { default: scalar, description: { type: 'string' } }, additionalProperties: false }] },
      },
      secrets: {
        type: 'object',
        additionalProperties: {
          oneOf: [
            { type: 'object', properties: { env: { type: 'string' } }, required: ['env'], additionalProperties: false },
            { type: 'object', properties: { file: { type: 'string' } }, required: ['file'], additionalProperties: false },
          ],
        },
      },
      policies: { type: 'object', description: 'Severity overrides for policy rules.', additionalProperties: { enum: ['warn', 'deny', 'off'] } },
      nodes: {
        type: 'object',
        propertyNames: { pattern: ID },
        additionalProperties: {
          type: 'object',
          properties: { type: { enum: kinds } },
          required: ['type'],
          allOf: branches,
        },
      },
    },
    required: ['nodes'],
  }
}

/** `kiln schema [-o FILE]`: writes the schema (default `.kiln/schema.json` beside the config). */
export async function schemaCommand(context: CommandContext): Promise<number> {
  const { loadProject, out, err, cwd } = resolveCommand(context)
  const project = await loadProject()
  const schema = `${JSON.stringify(configSchema(project.registry), null, 2)}\n`
  const output = String(context.options.output ?? '.kiln/schema.json')
  if (output === '-') {
    out(schema)
    return 0
  }
  const path = output === '.kiln/schema.json' ? resolve(project.config.projectDir, output) : resolve(cwd, output)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, schema)
  const shown = relative(context.io.cwd, path) || path
  err(`wrote ${shown} (${project.registry.kinds().length} node types)\n`)
  err(`editors: add "# yaml-language-server: $schema=${relative(project.config.projectDir, path)}" at the top of ${project.config.displayPath}\n`)
  return 0
}
