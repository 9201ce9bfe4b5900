import { z } from 'zod'
import { defineNodeType, definePlugin, ref, secretRef } from '../index.js'
import type { Artifact, OutputKinds } from '../index.js'
import { fakeState, stateLabel } from '../testing/index.js'

/** A tiny plugin for core's own tests: local sources, run steps, images, checks and a push. */
export const local = defineNodeType({
  kind: 'local',
  schema: z.strictObject({ path: z.string(), exclude: z.array(z.string()).default([]) }),
  outputs: { default: 'filesystem' },
  compile(node) {
    return { default: { kind: 'filesystem', state: fakeState(`local:${node.config.path}`) } }
  },
})

export const run = defineNodeType({
  kind: 'run',
  schema: z.strictObject({
    from: z.union([ref('image'), z.string().regex(/:/)]).optional(),
    mounts: z.record(z.string(), ref(['filesystem', 'image'])).default({}),
    script: z.string(),
    outputs: z.record(z.string(), z.string()).default({}),
    env: z.record(z.string(), z.string()).default({}),
  }),
  outputs: (config): OutputKinds => ({ default: 'filesystem' as const, ...Object.fromEntries(Object.keys(config.outputs).map((name) => [name, 'filesystem' as const])) }),
  compile(node, ctx) {
    const inputs = Object.values(node.config.mounts).map((reference) => stateLabel(ctx.input(reference).state))
    const state = fakeState(`run:${node.config.script}[${inputs.join(',')}]`)
    const outputs: Record<string, Artifact> = { default: { kind: 'filesystem', state } }
    for (const [name, path] of Object.entries(node.config.outputs)) outputs[name] = { kind: 'filesystem', state: fakeState(`${state.label}:${path}`) }
    return outputs
  },
})

export const image = defineNodeType({
  kind: 'image',
  schema: z.strictObject({ ref: z.string() }),
  outputs: { default: 'image' },
  compile(node) {
    return { default: { kind: 'image', state: fakeState(`image:${node.config.ref}`), config: { user: 'root' } } }
  },
})

export const check = defineNodeType({
  kind: 'check',
  schema: z.strictObject({ image: ref('image'), nonRoot: z.boolean().default(true) }),
  outputs: { default: 'value' },
  phase: 'check',
  meta: { messages: { root: 'Image {{image}} runs as {{user}}' } },
  compile(node, ctx) {
    const input = ctx.input(node.config.image)
    if (node.config.nonRoot && input.config.user === 'root') ctx.report({ messageId: 'root', data: { image: node.config.image.node, user: 'root' }, path: ['image'] })
    ctx.target({ kind: 'check', state: input.state })
    return { default: { kind: 'value', known: true, value: 'checked' } }
  },
})

export const push = defineNodeType({
  kind: 'deploy.push',
  schema: z.strictObject({ image: ref('image'), to: z.string(), auth: secretRef().optional() }),
  outputs: { digest: 'value' },
  phase: 'publish',
  compile(node, ctx) {
    const input = ctx.input(node.config.image)
    ctx.target({ kind: 'publish', state: input.state, exporter: { type: 'image', name: node.config.to, push: true }, values: { digest: { from: 'exporter', key: 'containerimage.digest' } }, ...(node.config.auth ? { secrets: [ctx.secret(node.config.auth).name] } : {}) })
    return { digest: { kind: 'value', known: false, node: node.id, output: 'digest' } }
  },
})

export const testPlugin = definePlugin({ meta: { name: 'kiln-plugin-test', version: '1.0.0' }, apiVersion: 'v1', nodeTypes: [local, run, image, check, push] })
