import type { CommandContext } from '../main.js'
import { table } from './plan.js'
import { resolveCommand } from './shared.js'

interface UsageRecord {
  ID?: string | null
  Mutable?: boolean | null
  InUse?: boolean | null
  Size?: number | { toNumber(): number } | null
  Description?: string | null
  RecordType?: string | null
  Shared?: boolean | null
}

function size(value: UsageRecord['Size']): number {
  if (value === null || value === undefined) return 0
  return typeof value === 'number' ? value : value.toNumber()
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit += 1
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)}${units[unit]}`
}

/** `kiln du`: the engine's build cache. */
export async function duCommand(context: CommandContext): Promise<number> {
  const { connectEngine, out, cwd } = resolveCommand(context)
  const engine = await connectEngine(cwd)
  try {
    const records = (await engine.client.diskUsage()) as UsageRecord[]
    const total = records.reduce((sum, record) => sum + size(record.Size), 0)
    const reclaimable = records.filter((record) => !record.InUse).reduce((sum, record) => sum + size(record.Size), 0)
    if (context.options.verbose === true && records.length > 0) {
      const rows = [['ID', 'TYPE', 'SIZE', 'IN USE', 'DESCRIPTION']]
      for (const record of [...records].sort((a, b) => size(b.Size) - size(a.Size))) {
        rows.push([(record.ID ?? '').slice(0, 12), record.RecordType ?? '', formatBytes(size(record.Size)), record.InUse ? 'yes' : '', (record.Description ?? '').slice(0, 60)])
      }
      out(table(rows))
    }
    out(`${records.length} cache record${records.length === 1 ? '' : 's'}, ${formatBytes(total)} total, ${formatBytes(reclaimable)} reclaimable (engine ${engine.address})\n`)
    return 0
  } finally {
    await engine.close()
  }
}

/** `kiln prune`: removes the engine's build cache. */
export async function pruneCommand(context: CommandContext): Promise<number> {
  const { connectEngine, out, cwd } = resolveCommand(context)
  const engine = await connectEngine(cwd)
  try {
    const keep = context.options.keepDuration === undefined ? undefined : Number(context.options.keepDuration)
    const removed = (await engine.client.prune({ all: context.options.all === true, ...(keep !== undefined && Number.isFinite(keep) ? { keepDurationSeconds: keep } : {}) })) as UsageRecord[]
    const total = removed.reduce((sum, record) => sum + size(record.Size), 0)
    out(`removed ${removed.length} cache record${removed.length === 1 ? '' : 's'}, ${formatBytes(total)} reclaimed\n`)
    return 0
  } finally {
    await engine.close()
  }
}
