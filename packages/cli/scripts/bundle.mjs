// Bundles the `kiln` binary (dist/bin/kiln.js) with esbuild after tsc has built dist/: the CLI, core, llb, the
// BuildKit client, plugin-std and the small dependencies become a few files, so start-up resolves and reads a
// handful of modules instead of a hundred. Dynamic imports stay lazy (split chunks): `--version` loads almost
// nothing, `plan` loads no gRPC client unless it needs the engine. dist/index.js and the rest of dist/ stay tsc's
// output for the library API; plugins other than plugin-std still load from the project's node_modules.
import { readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'bin')
rmSync(join(outdir, 'chunks'), { recursive: true, force: true })

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
  entryPoints: { kiln: 'src/bin/kiln.ts' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // jiti loads kiln.ts files only; it stays a dependency loaded from node_modules.
  external: ['jiti'],
  // CommonJS dependencies (tsyringe, protobufjs, commander) call require() for Node's own modules.
  banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);" },
  plugins: [inlineJsonRequires],
  sourcemap: 'linked',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  metafile: true,
})
if (process.env.KILN_BUNDLE_ANALYZE) {
  const { analyzeMetafile } = await import('esbuild')
  console.log(await analyzeMetafile(result.metafile))
}
