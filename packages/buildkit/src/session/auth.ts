/**
 * Registry credentials for the engine (`Auth/Credentials`, wire doc 7.2), from the Docker CLI's config.json:
 * `credHelpers` per registry, then `auths` entries, then the `credsStore` helper.
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface Credentials {
  username: string
  secret: string
}

/** Returns credentials for a registry host, or undefined for anonymous access. */
export type AuthProvider = (host: string) => Promise<Credentials | undefined>

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>
  credHelpers?: Record<string, string>
  credsStore?: string
}

const DOCKER_HUB = 'https://index.docker.io/v1/'

function normalizeHost(host: string): string {
  const bare = host.replace(/^https?:\/\//, '').replace(/\/.*$/, '')
  return bare === 'docker.io' || bare === 'registry-1.docker.io' || bare === 'index.docker.io' ? 'docker.io' : bare
}

function runHelper(helper: string, host: string): Promise<Credentials | undefined> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('error', () => resolve(undefined))
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined)
      try {
        const parsed = JSON.parse(out) as { Username?: string; Secret?: string }
        if (!parsed.Secret) return resolve(undefined)
        resolve({ username: parsed.Username ?? '', secret: parsed.Secret })
      } catch {
        resolve(undefined)
      }
    })
    child.stdin.end(host === 'docker.io' ? DOCKER_HUB : host)
  })
}

/** Reads credentials the way the Docker CLI stores them ($DOCKER_CONFIG/config.json or ~/.docker/config.json). */
export function dockerConfigAuth(env: NodeJS.ProcessEnv = process.env): AuthProvider {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')
  return async (rawHost) => {
    let config: DockerConfig
    try {
      config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig
    } catch {
      return undefined
    }
    const host = normalizeHost(rawHost)
    const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => normalizeHost(key) === host)?.[1]
    if (helper) return runHelper(helper, host)
    const entry = Object.entries(config.auths ?? {}).find(([key]) => normalizeHost(key) === host)?.[1]
    if (entry) {
      if (entry.identitytoken) return { username: '', secret: entry.identitytoken }
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString()
        const colon = decoded.indexOf(':')
        if (colon > 0) return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
      }
      if (entry.username && entry.password) return { username: entry.username, secret: entry.password }
    }
    if (config.credsStore) return runHelper(config.credsStore, host)
    return undefined
  }
}
