/**
 * Options the server commands share (serve, as, start): where profiles come from, and the small
 * parsers every flag goes through (integers in range, files that must be readable, secrets only
 * from files or the environment).
 */
import { readFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '../as/options.js';
import { BundleError, readTrust } from '../registry/bundle.js';
import type { SourceOptions } from '../registry/create.js';
import { FileRollbackFloor } from '../registry/rollback-floor.js';
import type { Options } from './args.js';
import { UsageError, profileDirs } from './context.js';

export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

export const SOURCE_OPTIONS: Options = {
  bundle: { type: 'string', multiple: true },
  trust: { type: 'string' },
  'bundle-issuer': { type: 'string' },
  poll: { type: 'string' },
  'no-watch': { type: 'boolean' },
  'disk-check': { type: 'string' },
};

export const SOURCE_USAGE = `  --profiles <dir|file>      profile source, repeatable (env FAPI_POLICY_PROFILES, '${delimiter}'-separated;
                             default ./profiles, else the bundled profiles; none when --bundle is given)
  --bundle <path|url>        signed profile bundle (file or http(s) URL), repeatable; needs --trust
  --trust <jwks.json>        public keys bundles must be signed with (env FAPI_POLICY_PDP_TRUST)
  --bundle-issuer <iss>      refuse bundles from any other issuer
  --poll <seconds>           poll bundle URLs with If-None-Match (default 30; 0 = never)
  --no-watch                 do not watch profile directories and bundle files for changes
  --disk-check <seconds>     compare profile files on disk with the active ones (default 5; 0 = never);
                             with the watch on, a change it missed is reloaded`;

/** A flag's value, else the environment variable's (an empty variable counts as unset). */
export function flag(values: Values, env: NodeJS.ProcessEnv, name: string, envName?: string): string | undefined {
  return (values[name] as string | undefined) ?? (envName ? env[envName] || undefined : undefined);
}

/** The authorization server's data directory: --data-dir, else FAPI_POLICY_DATA_DIR, else ./.fapi-policy. */
export function dataDirFrom(values: Values, env: NodeJS.ProcessEnv): string {
  return resolve(flag(values, env, 'data-dir', 'FAPI_POLICY_DATA_DIR') ?? DEFAULT_DATA_DIR);
}

export function integer(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** Where profiles come from; with a data directory, bundles keep their rollback floor there. */
export async function sourcesFrom(values: Values, env: NodeJS.ProcessEnv, dataDir?: string): Promise<SourceOptions> {
  const bundles = (values.bundle as string[] | undefined) ?? [];
  const given = (values.profiles as string[] | undefined) ?? env.FAPI_POLICY_PROFILES?.split(delimiter).filter(Boolean);
  const profiles = given?.length ? profileDirs(given) : bundles.length ? [] : profileDirs(undefined);
  const trustPath = flag(values, env, 'trust', 'FAPI_POLICY_PDP_TRUST');
  if (bundles.length && !trustPath) throw new UsageError('--bundle needs --trust <jwks.json>: bundles are always verified');
  const poll = integer(flag(values, env, 'poll'), '--poll', 0, 86_400);
  const check = integer(flag(values, env, 'disk-check'), '--disk-check', 0, 86_400);
  return {
    profiles,
    bundles,
    ...(trustPath ? { trust: await loadTrust(trustPath) } : {}),
    ...(flag(values, env, 'bundle-issuer') ? { bundleIssuer: flag(values, env, 'bundle-issuer') } : {}),
    pollSeconds: poll ?? 30,
    watch: !values['no-watch'],
    ...(check !== undefined ? { checkSeconds: check } : {}),
    ...(dataDir && bundles.length ? { rollbackFloor: new FileRollbackFloor(join(dataDir, 'bundle-floor.json')) } : {}),
  };
}

async function loadTrust(path: string) {
  try {
    return await readTrust(path);
  } catch (e) {
    throw new UsageError(e instanceof BundleError ? e.message : `cannot read --trust ${path}: ${(e as Error).message}`);
  }
}

/** Reads a file a flag names, as a usage error when it cannot be read. */
export async function readFlagFile(path: string, name: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${name} ${path}: ${(e as Error).message}`);
  }
}

/**
 * Secrets (bearer tokens) come from a file or the environment, never from argv, which every local
 * user can read. One per line in the file, comma-separated in the variable.
 */
export async function secretsFrom(file: string | undefined, fromEnv: string | undefined, name: string): Promise<string[]> {
  let text = fromEnv?.split(',').join('\n') ?? '';
  if (file) text += '\n' + (await readFlagFile(file, name)).toString('utf8');
  return text.split('\n').map((t) => t.trim()).filter(Boolean);
}
