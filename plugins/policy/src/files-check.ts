import { createNodeFactory, defineNodeType, ref, z } from '@kiln/core'
import type { InspectContext, ReadDirEntry, Severity } from '@kiln/core'
import { createGlobSet, isValidGlob } from './glob.js'
import { scanForSecrets } from './secrets.js'

const glob = z.string().refine(isValidGlob, { message: 'a glob', params: { expected: 'a non-empty glob (*, **, ?, [abc], {a,b})' } })

const schema = z
  .strictObject({
    from: ref('filesystem', { description: 'The files to check: a node whose output is a filesystem or an image.' }),
    path: z.string().refine((path) => path.startsWith('/'), { message: 'an absolute path', params: { expected: 'an absolute path (starting with /)' } }).default('/').describe('The directory to scan (absolute); globs are relative to it.'),
    forbid: z.array(glob).default([]).describe('No file or directory may match these globs (`*.pem`, `**/.ssh/**`, `etc/shadow`).'),
    secretScan: z.boolean().default(false).describe('Scan file contents for well-known secret shapes (private keys, cloud and registry tokens).'),
    exclude: z.array(glob).default([]).describe('Paths not walked or scanned (`proc/**`, `usr/share/doc`).'),
    maxFileSize: z.number().int().positive().default(16 * 1024 * 1024).describe('Files larger than this many bytes are not scanned for secrets.'),
    severity: z.enum(['warn', 'deny']).default('deny').describe('deny fails the check (and so stops every publish of the run); warn only reports.'),
  })
  .refine((config) => config.forbid.length > 0 || config.secretScan, {
    message: 'at least one rule',
    path: ['forbid'],
    params: { expected: 'at least one rule (forbid: [globs] or secretScan: true)' },
  })

/** The config of a `policy.files` node, as written. */
export type FilesCheckConfig = z.input<typeof schema>

const messages = {
  forbidden: '{{kind}} {{path}} in {{from}} matches forbidden pattern {{pattern}}',
  secret: '{{path}} in {{from}} contains {{secret}} (line {{line}}): expected no secrets in produced files',
}

/** What {@link inspectFiles} checks. */
export interface FilesRules {
  /** What the files are (a node id), for messages. */
  readonly from: string
  readonly path: string
  readonly forbid: readonly string[]
  readonly secretScan: boolean
  readonly exclude: readonly string[]
  readonly maxFileSize: number
  readonly severity: Severity
}

/** How many engine reads run at once while walking a tree. */
const CONCURRENCY = 8

/**
 * The content check of `policy.files`: walks the result under `path` through the engine (`readDir`), reports every
 * file, directory or symlink matching a `forbid` glob (without descending into a forbidden directory), and with
 * `secretScan` reads each regular file up to `maxFileSize` and reports the secret shapes it contains (the file and
 * line, never the secret).
 */
export async function inspectFiles(context: InspectContext, rules: FilesRules): Promise<void> {
  const forbid = createGlobSet(rules.forbid)
  const exclude = createGlobSet(rules.exclude)
  const root = rules.path.replace(/\/+$/, '') || '/'
  const absolute = (relative: string): string => (root === '/' ? `/${relative}` : `${root}/${relative}`)
  const findings: { order: string; report: () => void }[] = []
  const files: string[] = []

  const walk = async (relative: string): Promise<void> => {
    const entries: readonly ReadDirEntry[] = await context.readDir(relative === '' ? root : absolute(relative))
    const directories: string[] = []
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`
      if (exclude.match(path) !== undefined) continue
      const pattern = forbid.match(path)
      if (pattern !== undefined) {
        const kind = entry.type === 'directory' ? 'Directory' : entry.type === 'symlink' ? 'Symlink' : 'File'
        findings.push({ order: path, report: () => context.report({ messageId: 'forbidden', data: { rule: 'forbid', from: rules.from, kind, path: absolute(path), pattern }, severity: rules.severity }) })
        continue
      }
      if (entry.type === 'directory') directories.push(path)
      else if (entry.type === 'file' && rules.secretScan && entry.size <= rules.maxFileSize) files.push(path)
    }
    await pool(directories, walk)
  }
  await walk('')

  await pool(files, async (path) => {
    const matches = scanForSecrets(await context.readFile(absolute(path)))
    for (const match of matches) {
      findings.push({ order: `${path}\u0000${match.shape.id}`, report: () => context.report({ messageId: 'secret', data: { rule: 'secretScan', from: rules.from, path: absolute(path), secret: match.shape.description, shape: match.shape.id, line: match.line }, severity: rules.severity }) })
    }
  })
  // Reads run concurrently; findings come out in path order so reports are stable.
  findings.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
  for (const finding of findings) finding.report()
}

async function pool<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker))
}

/**
 * `policy.files`: a check node that fails the run when produced files match forbidden globs or contain secrets.
 * Phase `check`: every publish of the run waits for it.
 *
 * @example
 * ```yaml
 * no-keys: { type: policy.files, from: build.bin, forbid: ["*.pem", "**\/.ssh/**"], secretScan: true }
 * ```
 */
export const filesCheck = defineNodeType({
  kind: 'policy.files',
  description: 'Check files: none matches a forbidden glob, none contains a secret.',
  schema,
  outputs: {},
  phase: 'check',
  meta: { messages },
  compile(node, ctx) {
    const input = ctx.input(node.config.from)
    const { from, ...config } = node.config
    const name = from.output === 'default' ? from.node : `${from.node}.${from.output}`
    const checks = [...(config.forbid.length > 0 ? [`forbid ${config.forbid.join(', ')}`] : []), ...(config.secretScan ? ['secret scan'] : [])]
    ctx.target({
      kind: 'check',
      state: input.state,
      description: `check files of ${name} under ${config.path}: ${checks.join('; ')}`,
      inspect: (context) => inspectFiles(context, { from: name, ...config }),
    })
    return {}
  },
})

/** kiln.ts factory of `policy.files` nodes. */
export const policyFiles = createNodeFactory(filesCheck)
