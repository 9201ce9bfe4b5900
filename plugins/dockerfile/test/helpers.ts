import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The engine under test: `KILN_ENGINE`, default the current flavor. */
export const ENGINE = process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock'
/** `current` (dockerd 26.1) or `legacy` (dockerd 20.10), from the socket path. */
export const FLAVOR: 'current' | 'legacy' = ENGINE.includes('/legacy/') ? 'legacy' : 'current'
const SOCKET = ENGINE.replace(/^docker:\/\//, '')

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
// tsx from this package's own dev dependencies (a clean install hoists nothing to the root).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href
const PLUGIN = fileURLToPath(new URL('../', import.meta.url))

export interface Run {
  code: number
  stdout: string
  stderr: string
}

function exec(command: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<Run & { raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const raw = Buffer.concat(out)
      resolve({ code: code ?? -1, stdout: raw.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), raw })
    })
    child.stdin.end(options.input ?? '')
  })
}

/** Runs the `kiln` CLI from its sources, as a user would, on the engine under test. */
export function kiln(projectDir: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return exec(process.execPath, ['--conditions=@kiln/source', '--import', TSX, join(REPO, 'packages/cli/src/bin/kiln.ts'), '-C', projectDir, '--engine', ENGINE, '--progress', 'plain', ...args], { env })
}

/** Debian 12's docker 20.10 CLI against the engine under test, with BuildKit. */
export function docker(args: readonly string[], options: { cwd?: string } = {}): Promise<Run & { raw: Buffer }> {
  return exec('/usr/bin/docker', ['-H', `unix://${SOCKET}`, ...args], { ...options, env: { DOCKER_BUILDKIT: '1' } })
}

/** A file of a test project: its text and (optionally) its mode, or a symlink. */
export type ProjectFile = string | { text: string; mode: number } | { symlink: string }

/**
 * Writes a project in a fresh temporary directory, with `node_modules/@kiln/plugin-dockerfile` linked to this
 * package (what installing it would give), and returns the directory.
 */
export async function writeProject(files: Readonly<Record<string, ProjectFile>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-dockerfile-e2e-'))
  await mkdir(join(dir, 'node_modules/@kiln'), { recursive: true })
  await symlink(PLUGIN.replace(/\/$/, ''), join(dir, 'node_modules/@kiln/plugin-dockerfile'))
  for (const [path, file] of Object.entries(files)) {
    const full = join(dir, path)
    await mkdir(dirname(full), { recursive: true })
    if (typeof file === 'object' && 'symlink' in file) {
      await symlink(file.symlink, full)
      continue
    }
    await writeFile(full, typeof file === 'string' ? file : file.text)
    if (typeof file === 'object') await chmod(full, file.mode)
  }
  return dir
}

/** The image config fields Kiln carries, as `docker image inspect` shows them. */
export async function imageConfig(image: string): Promise<Record<string, unknown>> {
  const result = await docker(['image', 'inspect', '--format', '{{json .Config}}', image])
  if (result.code !== 0) throw new Error(`docker image inspect ${image}: ${result.stderr}`)
  const config = JSON.parse(result.stdout) as Record<string, unknown>
  return { Env: config.Env, WorkingDir: config.WorkingDir, User: config.User, Entrypoint: config.Entrypoint, Cmd: config.Cmd, Labels: config.Labels }
}

/** One entry of an image's filesystem: path, type, permission bits, owner, size, link target and content digest. */
export interface FileEntry {
  path: string
  type: string
  mode: string
  uid: number
  gid: number
  size: number
  link: string
  sha256: string
}

/** Every file of an image (a container created from it, `docker export`ed), sorted by path. Times are left out. */
export async function imageFiles(image: string): Promise<FileEntry[]> {
  const created = await docker(['create', '--network', 'none', image])
  if (created.code !== 0) throw new Error(`docker create ${image}: ${created.stderr}`)
  const id = created.stdout.trim()
  try {
    const exported = await docker(['export', id])
    if (exported.code !== 0) throw new Error(`docker export ${image}: ${exported.stderr}`)
    return parseTar(exported.raw).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  } finally {
    await docker(['rm', '-f', id])
  }
}

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length)
  const end = raw.indexOf(0)
  return raw.subarray(0, end === -1 ? length : end).toString('utf8')
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).trim()
  return text === '' ? 0 : Number.parseInt(text, 8)
}

function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {}
  let at = 0
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    if (space === -1) break
    const length = Number.parseInt(data.subarray(at, space).toString('utf8'), 10)
    const record = data.subarray(space + 1, at + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    records[record.slice(0, eq)] = record.slice(eq + 1)
    at += length
  }
  return records
}

const TYPES: Record<string, string> = { '0': 'file', '': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' }

/** A minimal ustar/pax reader, enough for `docker export`. */
export function parseTar(tar: Buffer): FileEntry[] {
  const entries: FileEntry[] = []
  let at = 0
  let pax: Record<string, string> = {}
  let longName: string | undefined
  let longLink: string | undefined
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512)
    if (header.every((byte) => byte === 0)) break
    const size = octal(header, 124, 12)
    const typeflag = field(header, 156, 1)
    const data = tar.subarray(at + 512, at + 512 + size)
    at += 512 + Math.ceil(size / 512) * 512
    if (typeflag === 'x') {
      pax = { ...pax, ...paxRecords(data) }
      continue
    }
    if (typeflag === 'g') continue
    if (typeflag === 'L') {
      longName = field(data, 0, data.length)
      continue
    }
    if (typeflag === 'K') {
      longLink = field(data, 0, data.length)
      continue
    }
    const prefix = field(header, 345, 155)
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100))
    const link = pax.linkpath ?? longLink ?? field(header, 157, 100)
    entries.push({
      path: `/${name.replace(/^\.?\/*/, '').replace(/\/$/, '')}`,
      type: TYPES[typeflag] ?? `type ${typeflag}`,
      mode: (octal(header, 100, 8) & 0o7777).toString(8).padStart(4, '0'),
      uid: pax.uid !== undefined ? Number(pax.uid) : octal(header, 108, 8),
      gid: pax.gid !== undefined ? Number(pax.gid) : octal(header, 116, 8),
      size,
      link,
      sha256: typeflag === '0' || typeflag === '' ? createHash('sha256').update(data).digest('hex') : '',
    })
    pax = {}
    longName = undefined
    longLink = undefined
  }
  return entries
}

/** Removes images, ignoring ones that do not exist. */
export async function removeImages(...images: string[]): Promise<void> {
  await docker(['image', 'rm', '-f', ...images])
}
