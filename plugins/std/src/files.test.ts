import { NodeTypeTester } from '@kiln/core/testing'
import { DOCKERD_26_1, isLlbError } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import { fileActions, inputOp, marshal, resultOp } from './__fixtures__/llb.js'
import { exportType, createExportType } from './export.js'
import { copyType, mergeType } from './files.js'
import { imageType } from './image.js'
import { localType } from './local.js'
import { runType } from './run.js'

const local = async (id: string) => (await new NodeTypeTester(localType).compile({ path: id }, { nodeId: id })).outputs.default
const built = async (id: string) => (await new NodeTypeTester(runType).compile({ from: 'busybox:latest', script: 'make', outputs: { bin: '/out' } }, { nodeId: id })).outputs

describe('copy', () => {
  const tester = new NodeTypeTester(copyType)

  it('validates its config', () => {
    expect(tester.errors({ from: 'src', src: ['a', 'b'], dest: '/app/', to: 'base', owner: '1000:1000', mode: '0644' })).toEqual([])
    expect(tester.errors({ from: 'src', src: [], dest: 'rel', mode: 644 }).map((error) => [error.path, error.message])).toEqual([
      [['src'], 'Node "node" has invalid config at src: expected at least 1 item(s), received 0 item(s)'],
      [['dest'], 'Node "node" has invalid config at dest: expected an absolute path (starting with "/"), received "rel"'],
      [['mode'], 'Node "node" has invalid config at mode: expected string, received number 644'],
    ])
  })

  it('copies like Dockerfile COPY --from onto an empty filesystem, in one file op', async () => {
    const src = await local('src')
    const { outputs } = await tester.compile({ from: 'src', src: ['dist', '/etc/app.conf'], dest: '/app/', owner: '1000:app' }, { nodeId: 'pkg', inputs: { src } })
    const definition = marshal(outputs.default.state)
    const op = resultOp(definition)
    expect(inputOp(definition, op, 0).op.source?.identifier).toBe('local://src')
    expect(fileActions(op)).toEqual([
      { input: -1, secondaryInput: 0, output: -1, copy: expect.objectContaining({ src: '/dist', dest: '/app/', dirCopyContents: true, createDestPath: true, allowWildcard: true, followSymlink: true, mode: -1, owner: { user: { byID: 1000 }, group: { byName: { name: 'app', input: -1 } } } }) },
      { input: 1, secondaryInput: 0, output: 0, copy: expect.objectContaining({ src: '/etc/app.conf', dest: '/app/', includePatterns: [], excludePatterns: [] }) },
    ])
    expect(Object.keys(op.metadata.caps ?? {})).toEqual(['file.base'])
    expect(op.metadata.description).toEqual({ 'llb.customname': '[pkg] copy /dist /etc/app.conf /app/' })
    expect(op.digest).toBe('sha256:67010743df9c7b5d61c748169791f8d5534966f624676fea0493dafd8ebfa114')
  })

  it('copies onto a base and keeps an image base\'s config', async () => {
    const base = (await new NodeTypeTester(imageType).compile({ ref: 'busybox:latest' })).outputs.default
    const bin = (await built('build')).bin
    const { outputs } = await tester.compile({ from: 'build.bin', src: 'tool', dest: '/usr/local/bin/tool', to: 'base', mode: '0755' }, { inputs: { 'build.bin': bin as never, base } })
    expect(outputs.default).toMatchObject({ kind: 'image', ref: 'busybox:latest' })
    const op = resultOp(marshal(outputs.default.state))
    expect(inputOp(marshal(outputs.default.state), op, 0).op.source?.identifier).toBe('docker-image://docker.io/library/busybox:latest')
    expect(fileActions(op)[0]).toMatchObject({ input: 0, secondaryInput: 1, copy: { src: '/tool', dest: '/usr/local/bin/tool', mode: 0o755 } })
  })

  it('uses include/exclude patterns only when asked: BuildKit 0.13 has them, dockerd 20.10 does not', async () => {
    const { outputs } = await tester.compile({ from: 'src', src: '/', dest: '/', exclude: ['*.log'] }, { inputs: { src: await local('src') } })
    const error = (() => {
      try {
        return marshal(outputs.default.state)
      } catch (caught) {
        return caught
      }
    })()
    expect(isLlbError(error)).toBe(true)
    expect((error as Error).message).toContain('copy include/exclude patterns (capability file.copy.includeexcludepatterns), but dockerd 20.10 (BuildKit v0.8) does not support it')
    expect(fileActions(resultOp(marshal(outputs.default.state, DOCKERD_26_1)))[0]?.copy?.excludePatterns).toEqual(['*.log'])
  })
})

describe('merge', () => {
  const tester = new NodeTypeTester(mergeType)

  it('validates its config', () => {
    expect(tester.errors({ inputs: [] }).map((error) => error.message)).toEqual(['Node "node" has invalid config at inputs: expected at least 1 item(s), received 0 item(s)'])
    expect(tester.references({ inputs: ['a', 'b.bin'] }).map((site) => [site.path, site.node, site.output])).toEqual([[['inputs', 0], 'a', 'default'], [['inputs', 1], 'b', 'bin']])
  })

  it('copies later inputs over the first by default, which builds on dockerd 20.10', async () => {
    const a = await local('a')
    const b = await built('b')
    const { outputs } = await tester.compile({ inputs: ['a', 'b', 'b.bin'] }, { nodeId: 'm', inputs: { a, b: b.default as never, 'b.bin': b.bin as never } })
    const definition = marshal(outputs.default.state)
    const op = resultOp(definition)
    expect(inputOp(definition, op, 0).op.source?.identifier).toBe('local://a')
    expect(fileActions(op).map((action) => [action.input, action.secondaryInput, action.copy?.src, action.copy?.dest, action.copy?.dirCopyContents])).toEqual([
      [0, 1, '/', '/', true],
      [3, 2, '/', '/', true],
    ])
  })

  it('emits a MergeOp when asked, refused before running on dockerd 20.10', async () => {
    const a = await local('a')
    const b = await built('b')
    const { outputs } = await tester.compile({ inputs: ['a', 'b'], strategy: 'merge' }, { inputs: { a, b: b.default as never } })
    expect(() => marshal(outputs.default.state)).toThrow('needs merge (capability mergeop), but dockerd 20.10 (BuildKit v0.8) does not support it')
    const op = resultOp(marshal(outputs.default.state, DOCKERD_26_1))
    expect(op.op.merge).toEqual({ inputs: [{ input: 0 }, { input: 1 }] })
  })
})

describe('export', () => {
  const tester = new NodeTypeTester(exportType)

  it('validates its config', () => {
    expect(tester.errors({ from: 'build', to: { local: 'out' } })).toEqual([])
    expect(tester.errors({ from: 'build', to: { s3: 'bucket' } }).map((error) => error.path)).toEqual([['to']])
    expect(tester.outputs({ from: 'build', to: { image: 'app:dev' } })).toEqual({ default: 'filesystem', digest: 'value' })
  })

  it('declares an export target to a local directory or a tarball', async () => {
    const src = await local('src')
    const toDir = await tester.compile({ from: 'src', to: { local: 'out' } }, { nodeId: 'dist', inputs: { src } })
    expect(toDir.targets).toEqual([{ kind: 'export', state: src.state, exporter: { type: 'local', dest: 'out' }, description: 'export src to directory out' }])
    expect(toDir.outputs.default).toBe(src)
    const toTar = await new NodeTypeTester(createExportType({ baseDir: '/project' })).compile({ from: 'src', to: { tar: 'dist/app.tar' } }, { inputs: { src } })
    expect(toTar.targets[0]?.exporter).toEqual({ type: 'tar', dest: '/project/dist/app.tar' })
  })

  it('stores an image with the config of an image input, and records its digest', async () => {
    const image = (await new NodeTypeTester(imageType).compile({ ref: 'busybox:latest', platform: 'linux/amd64' })).outputs.default
    const withConfig = { ...image, config: { env: ['A=1'], cmd: ['sh'] } }
    const { targets, outputs } = await tester.compile({ from: 'app', to: { image: 'app:dev' } }, { nodeId: 'store', inputs: { app: withConfig } })
    expect(targets).toEqual([
      {
        kind: 'export',
        state: image.state,
        exporter: { type: 'image', name: 'app:dev' },
        image: { config: { env: ['A=1'], cmd: ['sh'] }, platform: { os: 'linux', architecture: 'amd64' } },
        values: { digest: { from: 'exporter', key: 'containerimage.digest' } },
        description: 'export app to image app:dev',
      },
    ])
    expect(outputs).toEqual({ default: withConfig, digest: { kind: 'value', known: false, node: 'store', output: 'digest' } })
    const fromFs = await tester.compile({ from: 'src', to: { image: 'files:dev' } }, { inputs: { src: await local('src') } })
    expect(fromFs.targets[0]?.image).toEqual({ config: {} })
  })
})

