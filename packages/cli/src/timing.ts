/**
 * Start-up and phase timestamps on stderr with `KILN_DEBUG=timing`: milliseconds since the
 * process started (Node's own start-up included), so a slow `kiln plan` or cached run shows where its time goes.
 * Costs one environment lookup when off.
 */
const enabled = /(^|,)timing(,|$)/.test(process.env.KILN_DEBUG ?? '')

export function mark(label: string): void {
  if (enabled) process.stderr.write(`[kiln +${performance.now().toFixed(0)}ms] ${label}\n`)
}
