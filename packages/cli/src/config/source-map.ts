import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml'
import { ConfigError, type Diagnostic, type SourcePosition } from '../errors.js'

export type ConfigPath = readonly (string | number)[]

/** Finds where a config path was written. Implementations: one YAML file, a stack of overlays, or none (kiln.ts). */
export interface SourceLocator {
  /** The position of the value at `path`, or of its deepest ancestor that exists in the source. */
  locate(path: ConfigPath, options?: LocateOptions): SourcePosition
}

export interface LocateOptions {
  /** Point at the key of the last segment rather than at its value (for "unknown key" errors). */
  key?: boolean
}

interface Match {
  position: SourcePosition
  depth: number
}

/**
 * A parsed YAML config file that remembers where everything was written, so an error on
 * `nodes.build.mounts./src` can say `kiln.yaml:12:7`.
 */
export class YamlSource implements SourceLocator {
  readonly file: string
  readonly value: unknown
  private readonly document: Document
  private readonly lines: LineCounter

  private constructor(file: string, document: Document, lines: LineCounter) {
    this.file = file
    this.document = document
    this.lines = lines
    this.value = document.toJS({ maxAliasCount: 1000 }) as unknown
  }

  /**
   * Parses `text`; a syntax error throws a `ConfigError` with the position of each problem.
   * `file` is the name shown in messages (relative to the working directory).
   */
  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter()
    // Duplicate keys are found by our own walk, which knows whether the key is a node id.
    const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false })
    if (document.errors.length > 0) {
      const diagnostics: Diagnostic[] = document.errors.map((error) => {
        const start = lines.linePos(error.pos[0])
        return {
          message: `YAML syntax error: ${firstLine(error.message)}`,
          position: { file, line: start.line, column: start.col },
        }
      })
      throw new ConfigError(diagnostics)
    }
    const source = new YamlSource(file, document, lines)
    const duplicates = source.duplicateKeys()
    if (duplicates.length > 0) throw new ConfigError(duplicates)
    return source
  }

  private duplicateKeys(): Diagnostic[] {
    const problems: Diagnostic[] = []
    const visit = (node: unknown, path: string[]) => {
      if (isMap(node)) {
        const seen = new Set<string>()
        for (const pair of node.items) {
          const key = keyText(pair.key)
          if (key === undefined) continue
          if (seen.has(key)) {
            const position = this.positionOf(pair.key as YamlNode) ?? { file: this.file }
            const nodeLevel = path.length === 1 && path[0] === 'nodes'
            problems.push(
              nodeLevel
                ? { message: `duplicate node id "${key}"`, nodeId: key, position }
                : { message: `duplicate key "${key}"`, ...(path.length > 0 ? { field: path.join('.') } : {}), position },
            )
          }
          seen.add(key)
          visit(pair.value, [...path, key])
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, index) => visit(item, [...path, String(index)]))
      }
    }
    visit(this.document.contents, [])
    return problems
  }

  locate(path: ConfigPath, options: LocateOptions = {}): SourcePosition {
    return this.match(path, options).position
  }

  /** The deepest node of `path` present in this file and how many path segments it matched. */
  match(path: ConfigPath, options: LocateOptions = {}): Match {
    let node: unknown = this.document.contents
    let best = this.positionOf(node as YamlNode | null) ?? { file: this.file, line: 1, column: 1 }
    let depth = 0
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment))
        if (!pair) break
        const value = pair.value as YamlNode | null
        const last = depth === path.length - 1
        // A null value (`key:` with nothing after it) has no range of its own: point at the key.
        best = (last && options.key ? this.positionOf(pair.key as YamlNode) : undefined) ?? this.positionOf(value) ?? this.positionOf(pair.key as YamlNode) ?? best
        node = value
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as YamlNode | undefined
        if (item === undefined) break
        best = this.positionOf(item) ?? best
        node = item
      } else {
        break
      }
      depth += 1
    }
    return { position: best, depth }
  }

  private positionOf(node: YamlNode | null | undefined): SourcePosition | undefined {
    const range = node?.range
    if (!range) return undefined
    const { line, col } = this.lines.linePos(range[0])
    return { file: this.file, line, column: col }
  }
}

/** Overlays first: the position comes from the file that wrote the deepest part of the path (an overlay wins ties). */
export class LayeredSource implements SourceLocator {
  constructor(private readonly layers: readonly YamlSource[]) {}

  locate(path: ConfigPath, options: LocateOptions = {}): SourcePosition {
    let best: Match | undefined
    for (const layer of this.layers) {
      const match = layer.match(path, options)
      if (!best || match.depth > best.depth) best = match
    }
    return best?.position ?? { file: 'kiln.yaml' }
  }
}

/** For configs written in TypeScript: only the file name is known. */
export class FileOnlySource implements SourceLocator {
  constructor(private readonly file: string) {}
  locate(): SourcePosition {
    return { file: this.file }
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value)
  return undefined
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text
}
