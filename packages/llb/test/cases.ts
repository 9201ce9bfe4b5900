/**
 * One golden case per op kind and option. `samples.test.ts` pins each case's result digest and its
 * `buildctl debug dump-llb` JSON under `test/samples/<case>/`.
 */
import {
  DOCKERD_20_10, DOCKERD_26_1, copy, diff, git, http, image, local, merge, mkdir, mkfile, ociLayout, rm, scratch,
  type MarshalOptions, type State,
} from '../src/index.js'

export interface SampleCase {
  readonly state: State
  readonly options?: MarshalOptions
}

const busybox = image('busybox')
const src = local('src', { uniqueId: 'golden' })
const run = (options: Parameters<State['run']>[0]) => busybox.run({ network: 'none', ...options })

export const CASES: Record<string, SampleCase> = {
  'source-image': { state: busybox },
  'source-image-options': { state: image('127.0.0.1:5000/app:1', { platform: 'linux/arm64', resolveMode: 'pull', recordType: 'internal', layerLimit: 3, customName: 'base' }) },
  'source-image-digest': { state: image(`alpine@sha256:${'e'.repeat(64)}`, { resolveMode: 'local' }) },
  'source-local': { state: local('context', { include: ['src/**'], exclude: ['node_modules', '*.log'], followPaths: ['package.json'], sharedKeyHint: 'context', uniqueId: 'golden' }) },
  'source-local-session-differ': { state: local('context', { sessionId: 'session-1', differ: 'none' }) },
  'source-git-https': { state: git('https://github.com/moby/buildkit.git', 'v0.13.2', { authTokenSecret: 'TOKEN', authHeaderSecret: 'HEADER' }) },
  'source-git-ssh': { state: git('ssh://git@example.com:2222/team/repo.git', 'main', { keepGitDir: true, knownSshHosts: 'example.com ssh-ed25519 AAAA', mountSshSock: 'agent', subdir: 'sub' }) },
  'source-http': { state: http('https://example.com/tool.tar.gz', { checksum: `sha256:${'f'.repeat(64)}`, filename: 'tool.tgz', perm: 0o755, uid: 1000, gid: 1000 }) },
  'source-oci-layout': { state: ociLayout(`app@sha256:${'a'.repeat(64)}`, { sessionId: 's', storeId: 'store' }) },
  'exec-shell-env-cwd-user': { state: busybox.withEnv('A', '1').dir('/src').user('1000:1000').run({ shell: 'echo $A > out', env: { B: '2' }, cwd: 'sub', network: 'none' }) },
  'exec-network-host-insecure': { state: busybox.run({ args: ['ip', 'a'], network: 'host', security: 'insecure' }) },
  'exec-hostname-extrahosts': { state: busybox.addExtraHost('db', '10.0.0.2').run({ args: ['cat', '/etc/hosts'], hostname: 'builder', extraHosts: [{ host: 'cache', ip: '10.0.0.3' }], network: 'none' }) },
  'exec-ulimit': { state: run({ args: ['sh', '-c', 'ulimit -n'], ulimits: [{ name: 'nofile', soft: 123, hard: 456 }, { name: 'nproc', soft: -1, hard: -1 }] }) },
  'exec-proxy-env': { state: run({ args: ['env'], proxyEnv: { httpProxy: 'http://proxy:3128', httpsProxy: 'http://proxy:3128', noProxy: 'localhost', ftpProxy: 'ftp://p', allProxy: 'socks5://p' } }) },
  'exec-valid-exit-codes': { state: run({ args: ['sh', '-c', 'exit 3'], validExitCodes: [0, 3] }) },
  'exec-cgroup-parent': { state: run({ args: ['true'], cgroupParent: 'kiln.slice' }) },
  'exec-secret-env': { state: run({ args: ['sh', '-c', 'test -n "$TOKEN"'], secretEnv: [{ id: 'token', name: 'TOKEN' }, { id: 'opt', name: 'OPT', optional: true }] }) },
  'exec-setsdefaultpath-v0.8': { state: run({ args: ['true'] }), options: DOCKERD_20_10 },
  'exec-default-path-without-cap': { state: run({ args: ['true'] }), options: { caps: new Set(['source.image', 'exec.meta.base', 'exec.meta.network', 'exec.mount.bind']), engine: 'old engine' } },
  'mount-bind-readonly-selector': { state: run({ args: ['ls', '/src'], mounts: [{ type: 'bind', dest: '/src', from: src.dir('/'), readonly: true, selector: 'lib' }] }) },
  'mount-bind-output': { state: run({ args: ['sh', '-c', 'cp -r /src /out'], mounts: [{ type: 'bind', dest: '/out', from: scratch() }, { type: 'bind', dest: '/src', from: src }] }).getMount('/out') },
  'mount-bind-no-output': { state: run({ args: ['touch', '/scratch/x'], mounts: [{ type: 'bind', dest: '/scratch', from: src, output: false }] }) },
  'mount-cache': {
    state: run({
      args: ['true'],
      mounts: [
        { type: 'cache', dest: '/cache/shared' },
        { type: 'cache', dest: '/cache/private', id: 'p', sharing: 'private' },
        { type: 'cache', dest: '/cache/locked', id: 'l', sharing: 'locked', from: src },
      ],
    }),
  },
  'mount-tmpfs': { state: run({ args: ['df', '/t'], mounts: [{ type: 'tmpfs', dest: '/t', size: 1 << 20 }, { type: 'tmpfs', dest: '/u' }] }) },
  'mount-secret': { state: run({ args: ['cat', '/run/secrets/npm'], mounts: [{ type: 'secret', id: 'npm' }, { type: 'secret', id: 'key', dest: '/key', mode: 0o440, uid: 1, gid: 2, optional: true }] }) },
  'mount-ssh': { state: run({ args: ['ssh-add', '-l'], mounts: [{ type: 'ssh' }, { type: 'ssh', id: 'deploy', dest: '/ssh', mode: 0o600, uid: 1000, optional: true }] }) },
  'file-mkdir': { state: scratch().file(mkdir('/a/b', { parents: true, mode: 0o700, owner: { user: 1000, group: 'staff' }, createdTime: new Date(Date.UTC(2026, 0, 1)) })) },
  'file-mkfile': { state: busybox.file(mkfile('/etc/motd', 'hello\n', { mode: 0o600, owner: { user: 'root', group: 0 }, createdTime: 1_767_225_600_000_000_000n })) },
  'file-rm': { state: busybox.file(rm('/etc/*.conf', { allowWildcard: true, allowNotFound: true })) },
  'file-copy': {
    state: busybox.dir('/app').file(copy(src.dir('/project'), 'lib/', 'dist/', {
      mode: 0o644, owner: { user: 1, group: 1 }, followSymlinks: true, dirContentsOnly: true, attemptUnpack: true, createDestPath: true,
      allowWildcard: true, allowEmptyWildcard: true, include: ['**/*.js'], exclude: ['**/*.map'], alwaysReplaceExistingDestPaths: true, modeStr: 'u+x',
      createdTime: new Date(Date.UTC(2026, 0, 1)),
    })),
  },
  'file-chain': { state: scratch().file(mkdir('/out').mkfile('/out/a', 'a').copy(src, '/', '/out/src', { createDestPath: true }).rm('/out/src/tmp', { allowNotFound: true }), { customName: 'assemble' }) },
  'merge': { state: merge([busybox, scratch().file(mkfile('/a', 'a')), src]) },
  'merge-dockerd-26.1': { state: merge([busybox, scratch().file(mkfile('/a', 'a'))]), options: DOCKERD_26_1 },
  'merge-lowered-v0.8': { state: merge([busybox, scratch().file(mkdir('/x').mkfile('/x/a', 'a')), scratch().file(mkfile('/b', 'b'))]), options: DOCKERD_20_10 },
  'diff': { state: diff(busybox, busybox.file(mkfile('/c.txt', 'c'))) },
  'diff-scratch-upper': { state: diff(busybox, scratch()) },
  'metadata': { state: busybox.run({ args: ['date'], network: 'none', customName: 'now', ignoreCache: true, progressGroup: { id: 'g1', name: 'Tests', weak: true }, description: { 'com.example': 'x' } }) },
  'platform-state': { state: busybox.platform('linux/arm/v7').file(mkfile('/p', 'p')).run({ args: ['uname', '-m'], network: 'none' }) },
}
