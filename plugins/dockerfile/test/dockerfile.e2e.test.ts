import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { docker, FLAVOR, imageConfig, imageFiles, kiln, removeImages, writeProject, type ProjectFile } from './helpers.js'

const TAG = `kiln-e2e-dockerfile-${FLAVOR}`
const images: string[] = []
const projects: string[] = []

afterAll(async () => {
  await removeImages(...images)
  for (const dir of projects) await rm(dir, { recursive: true, force: true })
})

async function project(files: Readonly<Record<string, ProjectFile>>): Promise<string> {
  const dir = await writeProject(files)
  projects.push(dir)
  return dir
}

/** `docker build --network none` of a context, the reference the Kiln-built image must equal. */
async function dockerBuild(dir: string, image: string, args: readonly string[]): Promise<void> {
  images.push(image)
  const result = await docker(['build', '--network', 'none', '-q', '-t', image, ...args], { cwd: dir })
  expect(result.stderr + result.stdout).not.toMatch(/^ERROR|error:/m)
  expect(result.code).toBe(0)
}

async function kilnRun(dir: string, env: Record<string, string> = {}): Promise<string> {
  const result = await kiln(dir, ['run'], env)
  const output = result.stdout + result.stderr
  expect(output, output).toMatch(/nodes: \d+ ok/)
  expect(result.code, output).toBe(0)
  return output
}

/** The Kiln-built image equals the docker-built one: same files (paths, types, modes, owners, contents) and config. */
async function expectSameImage(kilnImage: string, dockerImage: string): Promise<void> {
  expect(await imageConfig(kilnImage)).toEqual(await imageConfig(dockerImage))
  const [ours, theirs] = await Promise.all([imageFiles(kilnImage), imageFiles(dockerImage)])
  expect(ours.length).toBeGreaterThan(100)
  expect(ours).toEqual(theirs)
}

const MULTISTAGE = `ARG BASE=busybox:latest
FROM \${BASE} AS builder
ARG VERSION=0.0.0
ENV APP_HOME=/opt/app SUFFIX=\${VERSION}-x
WORKDIR \${APP_HOME}
COPY src/ ./src/
RUN mkdir -p out && cat src/*.txt > out/all.txt && echo "$VERSION $SUFFIX" > out/version && chmod 0750 out/version && ln -s version out/link

FROM busybox:latest AS runtime
ARG VERSION
ENV VERSION=\${VERSION} HOME_DIR=/home/app
COPY --from=builder /opt/app/out/ /usr/share/app/
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group && mkdir -p $HOME_DIR && chown 1000:1000 $HOME_DIR
COPY . /ctx/
LABEL org.example.version=$VERSION org.example.static="a b"
USER app
WORKDIR \${HOME_DIR}
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /usr/share/app/all.txt"]
`

const DOCKERIGNORE = `# comments and exceptions
*.log
secret/
src/*.tmp
!src/keep.tmp
**/node_modules
!deep/node_modules/keep.js
`

describe(`dockerfile node on ${FLAVOR}`, () => {
  it('multi-stage, COPY --from, ARG/ENV expansion, .dockerignore with exceptions, target: equal to docker build; the image feeds run and copy', async () => {
    const dir = await project({
      'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
nodes:
  app:
    type: dockerfile
    context: ./ctx
    args: { VERSION: "1.2.3" }
    labels: { org.example.by: kiln }
  builder: { type: dockerfile, context: ./ctx, target: builder, args: { VERSION: "1.2.3" } }
  inside:
    type: run
    from: app
    phase: check
    script: test "$(id -u)" = 1000 && test "$PWD" = /home/app && test "$VERSION" = 1.2.3 && cat /usr/share/app/all.txt > /home/app/seen
    outputs: { seen: /home/app }
  taken: { type: copy, from: app, src: [/usr/share/app/version, /ctx/src], dest: /taken/ }
  export-app: { type: export, from: app, to: { image: "${TAG}-multistage:kiln" } }
  export-builder: { type: export, from: builder, to: { image: "${TAG}-builder:kiln" } }
  export-seen: { type: export, from: inside.seen, to: { local: ./out/seen } }
  export-taken: { type: export, from: taken, to: { local: ./out/taken } }
`,
      'ctx/Dockerfile': MULTISTAGE,
      'ctx/.dockerignore': DOCKERIGNORE,
      'ctx/src/a.txt': 'alpha\n',
      'ctx/src/b.txt': 'beta\n',
      'ctx/src/x.tmp': 'ignored\n',
      'ctx/src/keep.tmp': 'kept by an exception\n',
      'ctx/app.log': 'ignored\n',
      'ctx/secret/key': 'ignored\n',
      'ctx/deep/node_modules/m.js': 'ignored\n',
      'ctx/deep/node_modules/keep.js': 'kept by an exception\n',
      'ctx/deep/ok.txt': 'ok\n',
      'ctx/bin/run.sh': { text: '#!/bin/sh\necho run\n', mode: 0o755 },
      'ctx/private.txt': { text: 'private\n', mode: 0o600 },
      'ctx/link.txt': { symlink: 'src/a.txt' },
    })
    images.push(`${TAG}-multistage:kiln`, `${TAG}-builder:kiln`)
    await kilnRun(dir)
    await dockerBuild(join(dir, 'ctx'), `${TAG}-multistage:docker`, ['--build-arg', 'VERSION=1.2.3', '--label', 'org.example.by=kiln', '.'])
    await dockerBuild(join(dir, 'ctx'), `${TAG}-builder:docker`, ['--target', 'builder', '--build-arg', 'VERSION=1.2.3', '.'])
    await expectSameImage(`${TAG}-multistage:kiln`, `${TAG}-multistage:docker`)
    await expectSameImage(`${TAG}-builder:kiln`, `${TAG}-builder:docker`)

    const files = await imageFiles(`${TAG}-multistage:kiln`)
    const ctx = files.filter((file) => file.path.startsWith('/ctx/')).map((file) => `${file.path} ${file.type} ${file.mode}`)
    expect(ctx).toEqual([
      '/ctx/.dockerignore file 0644',
      '/ctx/Dockerfile file 0644',
      '/ctx/bin dir 0755',
      '/ctx/bin/run.sh file 0755',
      '/ctx/deep dir 0755',
      '/ctx/deep/node_modules dir 0755',
      '/ctx/deep/node_modules/keep.js file 0644',
      '/ctx/deep/ok.txt file 0644',
      '/ctx/link.txt symlink 0777',
      '/ctx/private.txt file 0600',
      '/ctx/src dir 0755',
      '/ctx/src/a.txt file 0644',
      '/ctx/src/b.txt file 0644',
      '/ctx/src/keep.tmp file 0644',
    ])
    expect(files.find((file) => file.path === '/usr/share/app/version')).toMatchObject({ mode: '0750', size: '1.2.3 1.2.3-x\n'.length })
    expect(await imageConfig(`${TAG}-multistage:kiln`)).toMatchObject({ User: 'app', WorkingDir: '/home/app', Labels: expect.objectContaining({ 'org.example.version': '1.2.3', 'org.example.by': 'kiln' }) })

    // The image fed a run (as its user, in its workdir, with its env) and a copy (a directory copies its contents) in the same kiln run.
    expect(await readFile(join(dir, 'out/seen/seen'), 'utf8')).toBe('alpha\nbeta\n')
    expect(await readFile(join(dir, 'out/taken/taken/version'), 'utf8')).toBe('1.2.3 1.2.3-x\n')
    expect(await readFile(join(dir, 'out/taken/taken/keep.tmp'), 'utf8')).toBe('kept by an exception\n')
  })

  it('RUN --mount=type=cache and type=secret (a Dockerfile id mapped to a declared secret): equal to docker build, the secret not in the image', async () => {
    const dockerfile = `FROM busybox:latest
RUN --mount=type=cache,target=/cache,id=kiln-e2e-dockerfile echo cached > /cache/c && cp /cache/c /from-cache
RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /secret-size
RUN --mount=type=secret,id=token,target=/tok test "$(cat /tok)" = "s3cr3t-value-42" && echo ok > /secret-ok
`
    const dir = await project({
      'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
secrets:
  api_token: { env: KILN_E2E_DOCKERFILE_TOKEN }
nodes:
  img: { type: dockerfile, context: ./ctx, secrets: { token: api_token } }
  export: { type: export, from: img, to: { image: "${TAG}-mounts:kiln" } }
`,
      'ctx/Dockerfile': dockerfile,
      'token.txt': 's3cr3t-value-42',
    })
    images.push(`${TAG}-mounts:kiln`)
    const output = await kilnRun(dir, { KILN_E2E_DOCKERFILE_TOKEN: 's3cr3t-value-42' })
    expect(output).not.toContain('s3cr3t-value-42')
    await dockerBuild(join(dir, 'ctx'), `${TAG}-mounts:docker`, ['--secret', `id=token,src=${join(dir, 'token.txt')}`, '.'])
    await expectSameImage(`${TAG}-mounts:kiln`, `${TAG}-mounts:docker`)
    const files = await imageFiles(`${TAG}-mounts:kiln`)
    expect(files.map((file) => file.path)).toEqual(expect.arrayContaining(['/from-cache', '/secret-size', '/secret-ok']))
    expect(files.map((file) => file.path)).not.toContain('/tok')
    expect(files.find((file) => file.path === '/run/secrets/token')).toBeUndefined()
  })

  it('context from another node through frontend inputs, inline Dockerfile, run in the result', async () => {
    const dir = await project({
      'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
nodes:
  gen:
    type: run
    from: busybox:latest
    script: mkdir -p /out/sub && echo generated > /out/sub/g.txt && printf 'FROM busybox:latest\\nARG WHO\\nCOPY sub/ /gen/\\nRUN echo "made by $WHO" > /gen/who\\n' > /out/Dockerfile.gen
    outputs: { ctx: /out }
  fromnode: { type: dockerfile, context: gen.ctx, dockerfile: Dockerfile.gen, args: { WHO: kiln } }
  inline:
    type: dockerfile
    context: gen.ctx
    inline: |
      FROM busybox:latest
      COPY . /all/
  check:
    type: run
    from: fromnode
    phase: check
    script: test "$(cat /gen/g.txt)" = generated && test "$(cat /gen/who)" = "made by kiln" && cp /gen/who /res/who
    mounts: { /res: res }
    outputs: { res: /res }
  res: { type: copy, from: inline, src: /all/Dockerfile.gen, dest: / }
  export-check: { type: export, from: check.res, to: { local: ./out/check } }
  export-inline: { type: export, from: inline, to: { image: "${TAG}-inline:kiln" } }
`,
    })
    images.push(`${TAG}-inline:kiln`)
    await kilnRun(dir)
    expect(await readFile(join(dir, 'out/check/who'), 'utf8')).toBe('made by kiln\n')
    expect(await readFile(join(dir, 'out/check/Dockerfile.gen'), 'utf8')).toContain('COPY sub/ /gen/')
    const files = await imageFiles(`${TAG}-inline:kiln`)
    expect(files.filter((file) => file.path.startsWith('/all/')).map((file) => `${file.path} ${file.type}`)).toEqual(['/all/Dockerfile.gen file', '/all/sub dir', '/all/sub/g.txt file'])
  })

  it('RUN --mount=type=ssh,required=true reaches the agent of the run (SSH_AUTH_SOCK), and is refused unless the node allows ssh', async () => {
    const agentDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-agent-'))
    projects.push(agentDir)
    const socket = join(agentDir, 'agent.sock')
    const started = execFileSync('ssh-agent', ['-s', '-a', socket], { encoding: 'utf8' })
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started)?.[1])
    try {
      const dockerfile = 'FROM busybox:latest\nRUN --mount=type=ssh,required=true test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /ssh-sock\n'
      const allowed = await project({
        'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
nodes:
  img: { type: dockerfile, context: ./ctx, ssh: true }
  out: { type: export, from: img, to: { local: ./out } }
`,
        'ctx/Dockerfile': dockerfile,
      })
      await kilnRun(allowed, { SSH_AUTH_SOCK: socket })
      expect(await readFile(join(allowed, 'out/ssh-sock'), 'utf8')).toMatch(/^\/run\/buildkit\/ssh_agent\.0\n$/)

      const refused = await project({
        'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
nodes:
  img: { type: dockerfile, context: ./ctx }
`,
        'ctx/Dockerfile': dockerfile,
      })
      const result = await kiln(refused, ['run'], { SSH_AUTH_SOCK: socket })
      expect(result.code, result.stdout + result.stderr).toBe(2)
      // A user error, located at the node in kiln.yaml (exit 2), not a failed node.
      expect(result.stdout + result.stderr).toMatch(/kiln\.yaml:\d+:\d+: node "img": field ssh: expected ssh allowed for default, received false/)
    } finally {
      if (pid > 0) process.kill(pid)
    }
  })

  const HEREDOC = `FROM busybox:latest
RUN <<EOT
mkdir -p /h
echo one > /h/1
echo two > /h/2
EOT
COPY <<EOF /h/3
three
EOF
`

  if (FLAVOR === 'current') {
    it('heredocs (RUN <<EOT, COPY <<EOF): equal to docker build', async () => {
      const dir = await project({
        'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
nodes:
  img: { type: dockerfile, context: ./ctx }
  export: { type: export, from: img, to: { image: "${TAG}-heredoc:kiln" } }
`,
        'ctx/Dockerfile': HEREDOC,
      })
      images.push(`${TAG}-heredoc:kiln`)
      await kilnRun(dir)
      await dockerBuild(join(dir, 'ctx'), `${TAG}-heredoc:docker`, ['.'])
      await expectSameImage(`${TAG}-heredoc:kiln`, `${TAG}-heredoc:docker`)
      const files = await imageFiles(`${TAG}-heredoc:kiln`)
      expect(files.filter((file) => file.path.startsWith('/h/')).map((file) => file.path)).toEqual(['/h/1', '/h/2', '/h/3'])
    })
  } else {
    it('heredocs: the 20.10 frontend rejects them, and the run says so before running anything, as docker build does', async () => {
      const dir = await project({
        'kiln.yaml': `plugins: ["@kiln/plugin-dockerfile"]
nodes:
  img: { type: dockerfile, context: ./ctx }
  export: { type: export, from: img, to: { image: "${TAG}-heredoc:kiln" } }
`,
        'ctx/Dockerfile': HEREDOC,
      })
      const result = await kiln(dir, ['run'])
      const output = result.stdout + result.stderr
      expect(result.code, output).not.toBe(0)
      expect(output).toMatch(/node "img"/)
      expect(output).toMatch(/unknown instruction: (MKDIR|ECHO)/i)
      const reference = await docker(['build', '--network', 'none', '-q', '.'], { cwd: join(dir, 'ctx') })
      expect(reference.code).not.toBe(0)
      expect(reference.stderr).toMatch(/unknown instruction: (MKDIR|ECHO)/i)
      expect((await docker(['image', 'inspect', `${TAG}-heredoc:kiln`])).code).not.toBe(0)
    })
  }
})
