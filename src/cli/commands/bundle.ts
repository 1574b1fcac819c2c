import { readFile, writeFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import {
  BUNDLE_ALGORITHMS, BUNDLE_LIMITS, BundleError, collectBundleFiles, generateSigningKey, readBounded, readTrust, signBundle, verifyBundle,
  type BundleAlgorithm,
} from '../../registry/bundle.js';
import { parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { json } from '../output.js';

const USAGE = `fapi-policy bundle sign|verify|keygen

  fapi-policy bundle sign --key <private.jwk> --kid <kid> --revision <n> [--issuer <iss>] <dir|file>... -o <bundle.jws>
      Signs the YAML files (directories are walked; names are kept relative to them) into one JWS whose
      payload is the manifest: issuer, revision, issue time, and each file's name, sha256, size and content.
      The algorithm follows the key: RSA -> PS256, EC P-256 -> ES256, Ed25519 -> EdDSA.
  fapi-policy bundle verify --trust <jwks.json> [--issuer <iss>] [--min-revision <n>] [--json] <bundle.jws>
      Checks the signature against the trust set (by kid), the algorithm, every file hash, and the revision.
      Exit 0 verified, 1 refused, 2 usage error.
  fapi-policy bundle keygen --kid <kid> [--alg ES256|PS256|EdDSA] -o <private.jwk> --jwks <public-jwks.json>
      Creates a signing key (private JWK, mode 600) and the trust set to give the decision service.`;

export const bundle: Command = {
  name: 'bundle',
  summary: 'Sign, verify or create keys for signed profile bundles',
  usage: USAGE,
  async run(argv: string[], io: Io) {
    const [sub, ...rest] = argv;
    if (sub === 'sign') return sign(rest, io);
    if (sub === 'verify') return verify(rest, io);
    if (sub === 'keygen') return keygen(rest, io);
    throw new UsageError(`bundle needs a subcommand: sign, verify or keygen\n\n${USAGE}`);
  },
};

async function sign(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    key: { type: 'string' }, kid: { type: 'string' }, revision: { type: 'string' }, issuer: { type: 'string' },
    alg: { type: 'string' }, out: { type: 'string', short: 'o' },
  });
  const need = (name: string) => {
    const v = values[name];
    if (typeof v !== 'string' || !v) throw new UsageError(`bundle sign needs --${name}`);
    return v;
  };
  if (!positionals.length) throw new UsageError('bundle sign needs the profile directories or files to sign');
  const revision = Number(need('revision'));
  if (!/^\d+$/.test(need('revision')) || !Number.isSafeInteger(revision)) throw new UsageError('--revision must be a non-negative integer');
  const key = await readJson<JWK>(need('key'), '--key');
  const out = need('out');
  try {
    const files = await collectBundleFiles(positionals);
    const jws = await signBundle(files, {
      key, kid: need('kid'), revision, issuer: (values.issuer as string | undefined) ?? 'fapi-policy', alg: values.alg as string | undefined,
    });
    await writeFile(out, jws + '\n');
    io.out(`signed ${files.length} file(s) as revision ${revision} -> ${out}`);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof BundleError) throw new UsageError(e.message);
    throw e;
  }
}

async function verify(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { trust: { type: 'string' }, issuer: { type: 'string' }, 'min-revision': { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('bundle verify takes exactly one bundle file');
  if (typeof values.trust !== 'string') throw new UsageError('bundle verify needs --trust <jwks.json>: there is no unverified mode');
  const min = values['min-revision'] as string | undefined;
  if (min !== undefined && !/^\d+$/.test(min)) throw new UsageError('--min-revision must be a non-negative integer');
  let trust;
  try {
    trust = await readTrust(values.trust);
  } catch (e) {
    throw new UsageError(e instanceof BundleError ? e.message : `cannot read --trust ${values.trust}: ${(e as Error).message}`);
  }
  let text: string;
  try {
    text = await readBounded(positionals[0] as string, BUNDLE_LIMITS.maxBytes, 'too_large');
  } catch (e) {
    if (e instanceof BundleError) return refused(io, e, Boolean(values.json));
    throw new UsageError(`cannot read ${positionals[0]}: ${(e as Error).message}`);
  }
  try {
    const b = await verifyBundle(text, trust, { issuer: values.issuer as string | undefined, minRevision: min === undefined ? undefined : Number(min) });
    const files = b.manifest.files.map(({ name, sha256, size }) => ({ name, sha256, size }));
    if (values.json) {
      io.out(json({ verified: true, iss: b.manifest.iss, revision: b.manifest.revision, iat: b.manifest.iat, kid: b.kid, alg: b.alg, digest: b.digest, files }));
    } else {
      io.out(`verified: revision ${b.manifest.revision} from ${b.manifest.iss}, issued ${new Date(b.manifest.iat * 1000).toISOString()}, signed by ${b.kid} (${b.alg})`);
      for (const f of files) io.out(`  ${f.name}  sha256:${f.sha256}  ${f.size} bytes`);
    }
    return EXIT.ok;
  } catch (e) {
    if (e instanceof BundleError) return refused(io, e, Boolean(values.json));
    throw e;
  }
}

function refused(io: Io, e: BundleError, asJson: boolean): number {
  io.out(asJson ? json({ verified: false, code: e.code, message: e.message }) : `REFUSED (${e.code}): ${e.message}`);
  return EXIT.deny;
}

async function keygen(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { kid: { type: 'string' }, alg: { type: 'string' }, out: { type: 'string', short: 'o' }, jwks: { type: 'string' } });
  const alg = ((values.alg as string | undefined) ?? 'ES256') as BundleAlgorithm;
  if (!(BUNDLE_ALGORITHMS as readonly string[]).includes(alg)) throw new UsageError(`--alg must be one of ${BUNDLE_ALGORITHMS.join(', ')}`);
  if (typeof values.kid !== 'string' || !values.kid) throw new UsageError('bundle keygen needs --kid');
  if (typeof values.out !== 'string' || typeof values.jwks !== 'string') throw new UsageError('bundle keygen needs -o <private.jwk> and --jwks <public-jwks.json>');
  const { privateJwk, publicJwks } = await generateSigningKey(alg, values.kid);
  try {
    await writeFile(values.out, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new UsageError(`cannot write ${values.out}: ${(e as Error).message}`);
  }
  await writeFile(values.jwks, JSON.stringify(publicJwks, null, 2) + '\n');
  io.out(`${alg} key '${values.kid}': private key -> ${values.out} (keep it secret), trust set -> ${values.jwks}`);
  return EXIT.ok;
}

async function readJson<T>(path: string, flag: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(e as Error).message}`);
  }
}
