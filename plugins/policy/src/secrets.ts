/**
 * Well-known shapes of secrets, for `policy.files`' `secretScan`. Core gives content checks no way to see the run's
 * secret values (they travel only through the engine session), so the scan looks for what leaked credentials look
 * like. Each pattern is specific enough not to fire on the binaries and CA bundles of an ordinary Linux image: a PEM
 * private key must have a body after its header (OpenSSH and OpenSSL carry the bare header as a string constant).
 */
export interface SecretShape {
  /** A stable id, in findings' data. */
  readonly id: string
  /** What it is, in words. */
  readonly description: string
  readonly pattern: RegExp
}

export const SECRET_SHAPES: readonly SecretShape[] = [
  {
    id: 'private-key',
    description: 'a PEM private key',
    pattern: /-----BEGIN ((?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----\r?\n(?:[A-Za-z-]+: [^\n]*\r?\n|\r?\n)*[A-Za-z0-9+/=]{40,}/,
  },
  { id: 'aws-access-key-id', description: 'an AWS access key id', pattern: /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/ },
  { id: 'aws-secret-access-key', description: 'an AWS secret access key', pattern: /aws_secret_access_key\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/i },
  { id: 'github-token', description: 'a GitHub token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})/ },
  { id: 'gitlab-token', description: 'a GitLab personal access token', pattern: /(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20,}/ },
  { id: 'slack-token', description: 'a Slack token', pattern: /(?<![A-Za-z0-9])xox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{10,}/ },
  { id: 'google-api-key', description: 'a Google API key', pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/ },
  { id: 'stripe-key', description: 'a Stripe live secret key', pattern: /(?<![A-Za-z0-9])[sr]k_live_[0-9A-Za-z]{24,}/ },
  { id: 'npm-token', description: 'an npm access token', pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/ },
  { id: 'docker-auth', description: 'registry credentials in a Docker config', pattern: /"auths"\s*:\s*\{[^}]*"auth"\s*:\s*"[A-Za-z0-9+/]{8,}={0,2}"/ },
]

/** One secret found in a file: which shape, and on which line (1-based). Never the secret itself. */
export interface SecretMatch {
  readonly shape: SecretShape
  readonly line: number
}

/** Scans bytes for every shape; one match per shape (the first). Binary-safe: bytes are read as latin1. */
export function scanForSecrets(bytes: Uint8Array, shapes: readonly SecretShape[] = SECRET_SHAPES): SecretMatch[] {
  const text = latin1(bytes)
  const matches: SecretMatch[] = []
  for (const shape of shapes) {
    const found = shape.pattern.exec(text)
    if (found === null) continue
    let line = 1
    for (let index = text.indexOf('\n'); index >= 0 && index < found.index; index = text.indexOf('\n', index + 1)) line++
    matches.push({ shape, line })
  }
  return matches
}

function latin1(bytes: Uint8Array): string {
  let text = ''
  for (let index = 0; index < bytes.length; index += 0x8000) text += String.fromCharCode(...bytes.subarray(index, index + 0x8000))
  return text
}
