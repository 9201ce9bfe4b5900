import type { CommandContext } from '../main.js'
import { ExitCode } from '../errors.js'
import { findEngineScript } from './engine.js'
import { resolveCommand } from './shared.js'

const FIXTURES = ['busybox:latest', 'debian:bookworm']
const NOTABLE_CAPS = ['exec.mount.cache', 'exec.mount.secret', 'exec.mount.ssh', 'exec.network.host', 'file.copy.includeexcludepatterns', 'mergeop', 'diffop', 'exporter.multiple', 'source.local.differ']

/** `kiln doctor`: the engine (address, version, capabilities) and whether the fixture images are there. */
export async function doctorCommand(context: CommandContext): Promise<number> {
  const { connectEngine, out, cwd } = resolveCommand(context)
  out(`kiln ${(await import('../version.js')).cliVersion()} on Node ${process.versions.node}\n`)
  const script = findEngineScript()
  if (script) out(`project engines: ${script} (kiln engine start|stop|status)\n`)
  let engine: Awaited<ReturnType<typeof connectEngine>>
  try {
    engine = await connectEngine(cwd)
  } catch (error) {
    out(`engine: unreachable\n`)
    throw error
  }
  try {
    const caps = await engine.capabilities()
    out(`engine: ${engine.address}\n`)
    out(`  ${await engine.label()}\n`)
    out(`  platforms: ${caps.platforms.map((platform) => `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`).join(', ') || 'unknown'}\n`)
    out(`  exporters: ${caps.exporters.join(', ')}\n`)
    out(`  LLB capabilities: ${caps.caps.length} enabled, ${caps.disabledCaps.length} disabled\n`)
    for (const cap of NOTABLE_CAPS) out(`    ${caps.caps.includes(cap) ? '✓' : caps.disabledCaps.includes(cap) ? '✗ (disabled)' : '✗'} ${cap}\n`)
    let missing = 0
    out('fixture images:\n')
    for (const image of FIXTURES) {
      try {
        const resolved = await engine.client.build({}, async (gateway) => ({ value: await gateway.resolveImageConfig(image, { resolveMode: 'local' }) }))
        const digest = (resolved.value.value as { digest: string }).digest
        out(`  ✓ ${image}${digest ? ` ${digest.slice(0, 19)}` : ''}\n`)
      } catch (error) {
        missing += 1
        out(`  ✗ ${image}: ${(error as Error).message.split('\n')[0]}\n`)
      }
    }
    if (missing > 0) out('  hint: bash scripts/fixtures.sh current (in the Kiln repository) builds and imports them\n')
    return missing > 0 ? ExitCode.failed : ExitCode.ok
  } finally {
    await engine.close()
  }
}
