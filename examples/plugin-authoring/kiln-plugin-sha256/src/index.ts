/**
 * An example third-party Kiln plugin. It depends only on `@kiln/core` (the contract) and `@kiln/llb` (to describe
 * work as LLB), exactly as a plugin published by anyone else would.
 *
 * Node type `sha256.sums`: takes another node's filesystem output and produces a filesystem holding that tree
 * plus a `SHA256SUMS` file listing every regular file under `path`, computed in a busybox container.
 */
import { createNodeFactory, defineNodeType, definePlugin, filesystemArtifact, ref, z } from '@kiln/core'
import { image, isState } from '@kiln/llb'

const schema = z.strictObject({
  from: ref(['filesystem', 'image'], { description: 'The files to sum: "nodeId" or "nodeId.output".' }),
  path: z.string().startsWith('/').default('/').meta({ description: 'The directory (in `from`) whose files are summed.' }),
  tool: z.string().default('busybox:latest').meta({ description: 'The image that provides `sha256sum` and `find`.' }),
})

export const sumsType = defineNodeType({
  kind: 'sha256.sums',
  description: 'Writes SHA256SUMS for every regular file of another node\'s output.',
  schema,
  outputs: { default: 'filesystem' },
  compile(node, ctx) {
    const input = ctx.input(node.config.from).state
    if (!isState(input)) throw new Error(`sha256.sums: the input of node "${node.id}" is not an LLB state`)
    const run = image(node.config.tool).run({
      args: ['/bin/sh', '-c', 'cd /data && find . -type f ! -name SHA256SUMS | sort | xargs -r sha256sum > SHA256SUMS'],
      network: 'none',
      mounts: [{ type: 'bind', dest: '/data', from: input, selector: node.config.path }],
    })
    return { default: filesystemArtifact(run.getMount('/data')) }
  },
})

/** A typed factory for kiln.ts: `sums({ from: build.output('dist') })`. */
export const sums = createNodeFactory(sumsType)

export default function sha256Plugin() {
  return definePlugin({ meta: { name: 'kiln-plugin-sha256', version: '0.1.0' }, apiVersion: 'v1', nodeTypes: [sumsType] })
}
