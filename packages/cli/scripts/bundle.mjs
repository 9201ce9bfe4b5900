// Bundles the `kiln` binary after tsc has built dist/: the CLI, core, llb, the BuildKit client, plugin-std and the
// small dependencies become one CommonJS file, dist/bin/kiln-bundle.cjs, which the launcher dist/bin/kiln.cjs
// (src/bin/kiln.cts) runs through V8's code cache. Modules behind dynamic imports are initialised on first use:
// `plan` runs no gRPC client code unless it needs the engine. dist/index.js and the rest of dist/ stay tsc's output
// for the library API; plugins other than plugin-std load from the project's node_modules.
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'bin')
// Earlier layouts: an ESM entry with split chunks.
rmSync(join(outdir, 'chunks'), { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })

// `createRequire(import.meta.url)('../package.json')` (plugin-std's meta, the CLI's version) would read a file
// relative to the bundle: inline the JSON the module meant instead.
const JSON_REQUIRE = /createRequire\(import\.meta\.url\)\((['"])([^'"]+\.json)\1\)/g
const inlineJsonRequires = {
  name: 'inline-json-requires',
  setup(builder) {
    builder.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8')
      if (!text.includes('createRequire(import.meta.url)(')) return undefined
      const contents = text.replace(JSON_REQUIRE, (_, _quote, specifier) => `(${readFileSync(createRequire(args.path).resolve(specifier), 'utf8').trim()})`)
      return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js', resolveDir: dirname(args.path) }
    })
  },
}

const result = await build({
  absWorkingDir: root,
  entryPoints: { 'kiln-bundle': 'src/bin/bundle.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  write: false,
  bundle: true,
  // CommonJS: one file that kiln.cjs compiles through V8's code cache (ESM has no code cache API on Node 20).
  // Dynamic imports stay lazy: esbuild initialises those modules on first use.
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  // jiti loads kiln.ts files only; it stays a dependency loaded from node_modules.
  external: ['jiti'],
  define: { 'import.meta.url': '__kilnImportMetaUrl' },
  banner: { js: "const __kilnImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [inlineJsonRequires],
  sourcemap: 'linked',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  metafile: true,
})
// The bundle's first line names its content: the code cache keys its entries by it (compile-cache.cts).
for (const file of result.outputFiles) {
  if (file.path.endsWith('.cjs')) {
    const id = createHash('sha256').update(file.contents).digest('hex')
    writeFileSync(file.path, Buffer.concat([Buffer.from(`/* kiln-bundle ${id} */\n`), file.contents]))
  } else {
    // The source map's lines move down by one with the id line: ';' adds an empty first line to its mappings.
    const map = JSON.parse(file.text)
    map.mappings = `;${map.mappings}`
    writeFileSync(file.path, JSON.stringify(map))
  }
}
// The launcher: small, CommonJS, and nothing but Node's own modules.
await build({
  absWorkingDir: root,
  entryPoints: { kiln: 'src/bin/launcher.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  legalComments: 'none',
  logLevel: 'warning',
})
chmodSync(join(outdir, 'kiln.cjs'), 0o755)
if (process.env.KILN_BUNDLE_ANALYZE) {
  const { analyzeMetafile } = await import('esbuild')
  console.log(await analyzeMetafile(result.metafile))
}
