// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * The layering of DESIGN.md, enforced: arrows point down only.
 * core and llb import no other workspace package (and no grpc, protobuf runtime in core, or DI container);
 * plugins never import the BuildKit client; tsyringe lives only in the CLI.
 */
const workspace = ['@kiln/core', '@kiln/llb', '@kiln/buildkit', '@kiln/cli', '@kiln/plugin-*']
const restrict = (/** @type {string[]} */ groups, /** @type {string} */ message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
})

export const layering = [
  {
    files: ['packages/core/**/*.ts'],
    rules: restrict(
      [...workspace.filter((name) => name !== '@kiln/core'), '@grpc/*', 'protobufjs', 'protobufjs/*', 'tsyringe', 'reflect-metadata', 'node:*', 'fs', 'net', 'http2', 'child_process'],
      '@kiln/core is the contract: no I/O, no gRPC, no protobuf, no DI container, no other workspace package.',
    ),
  },
  {
    files: ['packages/llb/**/*.ts'],
    rules: restrict(
      [...workspace.filter((name) => name !== '@kiln/llb'), '@grpc/*', 'tsyringe', 'reflect-metadata'],
      '@kiln/llb imports no other workspace package, no gRPC and no DI container.',
    ),
  },
  {
    files: ['packages/buildkit/**/*.ts'],
    rules: restrict(['@kiln/cli', '@kiln/plugin-*', 'tsyringe', 'reflect-metadata'], '@kiln/buildkit may import only @kiln/core and @kiln/llb.'),
  },
  {
    files: ['plugins/**/*.ts', 'examples/plugin-authoring/**/*.ts'],
    rules: restrict(['@kiln/buildkit', '@kiln/cli', '@grpc/*', 'tsyringe', 'reflect-metadata'], 'A plugin depends on @kiln/core and @kiln/llb only; engine access goes through the interfaces core defines.'),
  },
]

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.generated.*', '**/generated/**', '**/__fixtures__/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...layering,
)
