/**
 * Where profiles come from: directories (and single files), signed bundle files, signed bundle URLs.
 * Each source keeps its last good documents: a failed refresh records the error and changes nothing,
 * so the registry can always rebuild from the last good state of every source. New documents are a
 * candidate until the registry has built and activated a set from them (`settle`): a bundle that
 * verifies but does not compile never becomes the loaded revision.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { findProfileFiles, readDocuments } from '../profile/files.js';
import type { DocumentInput } from '../profile/load.js';
import { BUNDLE_LIMITS, BundleError, bundleDocuments, readBounded, verifyBundle, type TrustSet, type VerifiedBundle } from './bundle.js';

export type SourceKind = 'directory' | 'bundle-file' | 'bundle-url';

export interface SourceStatus {
  kind: SourceKind;
  location: string;
  /** The source has documents that loaded (and, for bundles, verified) at least once. */
  active: boolean;
  /** Whether the last refresh succeeded. */
  ok: boolean;
  files?: number;
  revision?: number;
  issuer?: string;
  kid?: string;
  digest?: string;
  etag?: string;
  last_loaded_at?: string;
  last_checked_at?: string;
  last_error?: string;
}

export interface ProfileSource {
  readonly kind: SourceKind;
  readonly location: string;
  /** Re-reads the source; resolves true when its documents changed. Never rejects. */
  refresh(): Promise<boolean>;
  /** The candidate documents of the last refresh if any, else the last good ones; null before any. */
  documents(): readonly DocumentInput[] | null;
  /** After a build: the candidate becomes the source's good state only if its set was activated. */
  settle(activated: boolean): void;
  /** Milliseconds since the newest change of a local file of this source (Infinity when none). */
  quietMs(): Promise<number>;
  status(): SourceStatus;
  /** Local paths whose change should trigger a reload. */
  watchPaths(): Array<{ path: string; recursive: boolean; file?: string }>;
}

const TESTS_FILE = /\.tests\.ya?ml$/;

interface Candidate {
  docs: DocumentInput[];
  /** Makes the source-specific state (bundle revision, ETag) current with the documents. */
  commit: () => void;
}

const NOT_ACTIVATED = 'its new version was not activated because the profile set failed to build (see last_reload.errors); the last good version stays active';

abstract class BaseSource implements ProfileSource {
  protected docs: DocumentInput[] | null = null;
  private candidate: Candidate | null = null;
  protected state: Omit<SourceStatus, 'kind' | 'location' | 'active'> = { ok: false };

  constructor(readonly kind: SourceKind, readonly location: string) {}

  async refresh(): Promise<boolean> {
    this.state.last_checked_at = new Date().toISOString();
    try {
      const changed = await this.load();
      this.state.ok = true;
      delete this.state.last_error;
      return changed;
    } catch (e) {
      this.candidate = null;
      this.state.ok = false;
      this.state.last_error = redactUrls(e instanceof Error ? e.message : String(e));
      return false;
    }
  }

  documents(): readonly DocumentInput[] | null {
    return this.candidate?.docs ?? this.docs;
  }

  settle(activated: boolean): void {
    const candidate = this.candidate;
    if (!candidate) return;
    this.candidate = null;
    if (!activated) {
      this.state.ok = false;
      this.state.last_error = NOT_ACTIVATED;
      return;
    }
    this.docs = candidate.docs;
    candidate.commit();
    this.state.files = candidate.docs.length;
    this.state.last_loaded_at = new Date().toISOString();
  }

  async quietMs(): Promise<number> {
    return Infinity;
  }

  status(): SourceStatus {
    return { kind: this.kind, location: this.location, active: this.docs !== null, ...this.state };
  }

  abstract watchPaths(): Array<{ path: string; recursive: boolean; file?: string }>;
  protected abstract load(): Promise<boolean>;

  /**
   * Proposes documents; true when they differ from the last good ones. Test vectors do not change
   * decisions: they are left out so a broken tests file cannot block a reload.
   */
  protected accept(docs: DocumentInput[], commit: () => void = () => {}): boolean {
    const next = docs.filter((d) => !TESTS_FILE.test(d.file));
    if (this.docs && sameDocuments(this.docs, next)) {
      this.candidate = null;
      commit();
      return false;
    }
    this.candidate = { docs: next, commit };
    return true;
  }
}

/** Milliseconds since the newest modification among the files (Infinity when none can be read). */
async function quietSince(files: readonly string[]): Promise<number> {
  const times = await Promise.all(files.map((f) => stat(f).then((s) => s.mtimeMs, () => -Infinity)));
  const newest = Math.max(-Infinity, ...times);
  if (newest === -Infinity) return Infinity;
  const age = Date.now() - newest;
  // A modification time in the future (a clock change, a touched file) must not postpone reloads forever.
  return age < 0 ? Infinity : age;
}

export class DirectorySource extends BaseSource {
  private readonly path: string;

  constructor(path: string) {
    super('directory', resolve(path));
    this.path = resolve(path);
  }

  protected async load(): Promise<boolean> {
    return this.accept(await readDocuments(await findProfileFiles([this.path])));
  }

  override async quietMs(): Promise<number> {
    try {
      return await quietSince(await findProfileFiles([this.path]));
    } catch {
      return Infinity;
    }
  }

  watchPaths() {
    return /\.ya?ml$/.test(this.path) ? [{ path: dirname(this.path), recursive: false, file: this.path }] : [{ path: this.path, recursive: true }];
  }
}

abstract class BundleSource extends BaseSource {
  private verified: VerifiedBundle | null = null;

  constructor(kind: SourceKind, location: string, private readonly trust: TrustSet, private readonly issuer?: string) {
    super(kind, location);
    if (!trust.keys.length) throw new BundleError('trust', 'a bundle source needs a trust set with at least one key');
  }

  /**
   * Verifies a bundle text and proposes its files; refuses rollbacks and a reused revision with
   * other content. The revision becomes the loaded one (and the rollback floor) only on commit.
   */
  protected async activate(jws: string, commit: () => void = () => {}): Promise<boolean> {
    const active = this.verified;
    const bundle = await verifyBundle(jws, this.trust, { minRevision: active?.manifest.revision, issuer: this.issuer });
    if (active && bundle.manifest.revision === active.manifest.revision) {
      if (bundle.digest !== active.digest) {
        throw new BundleError('rollback', `bundle revision ${bundle.manifest.revision} is already loaded with different content; publish a higher revision`);
      }
      commit();
      return false;
    }
    return this.accept(bundleDocuments(bundle, this.location), () => {
      this.verified = bundle;
      Object.assign(this.state, { revision: bundle.manifest.revision, issuer: bundle.manifest.iss, kid: bundle.kid, digest: bundle.digest });
      commit();
    });
  }
}

export class BundleFileSource extends BundleSource {
  constructor(private readonly path: string, trust: TrustSet, issuer?: string) {
    super('bundle-file', resolve(path), trust, issuer);
  }

  protected async load(): Promise<boolean> {
    return this.activate(await readBounded(this.location, BUNDLE_LIMITS.maxBytes, 'too_large'));
  }

  watchPaths() {
    return [{ path: dirname(this.location), recursive: false, file: this.location }];
  }

  override quietMs(): Promise<number> {
    return quietSince([this.location]);
  }
}

export interface UrlSourceOptions {
  /** Per-request time limit in milliseconds. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** An HTTP(S) bundle, fetched with If-None-Match so an unchanged bundle costs a 304. */
export class BundleUrlSource extends BundleSource {
  private etag: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly url: URL, trust: TrustSet, issuer?: string, options: UrlSourceOptions = {}) {
    super('bundle-url', redactUrl(url), trust, issuer);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BundleError('input', `bundle URL must be http or https: ${redactUrl(url)}`);
    if (url.username || url.password) {
      throw new BundleError('input', `bundle URL ${redactUrl(url)} carries credentials (user:password@); they would leak into logs and fetch refuses them`);
    }
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  protected async load(): Promise<boolean> {
    const headers: Record<string, string> = { Accept: 'application/jose, text/plain;q=0.5' };
    if (this.etag && this.docs) headers['If-None-Match'] = this.etag;
    const response = await this.fetchImpl(this.url, { headers, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    if (response.status === 304 && this.docs) {
      await response.body?.cancel();
      return false;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`GET ${this.location}: HTTP ${response.status}`);
    }
    const text = await readLimited(response, BUNDLE_LIMITS.maxBytes, this.location);
    const etag = response.headers.get('etag') ?? undefined;
    // The ETag is remembered only with the documents it names: a bundle that never became active
    // must be fetched again in full, not answered with a 304.
    return this.activate(text, () => {
      this.etag = etag;
      this.state.etag = etag;
    });
  }

  watchPaths() {
    return [];
  }
}

async function readLimited(response: Response, max: number, location: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw new BundleError('too_large', `${location}: bundle is larger than ${max} bytes`);
  }
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new BundleError('too_large', `${location}: bundle is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** URLs may carry credentials or signed query strings: neither is shown in status, metrics or logs. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Every URL inside a message (from fetch, say), redacted the same way. */
export function redactUrls(message: string): string {
  return message.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (m) => {
    try {
      return redactUrl(new URL(m));
    } catch {
      return '<url>';
    }
  });
}

function sameDocuments(a: readonly DocumentInput[], b: readonly DocumentInput[]): boolean {
  return a.length === b.length && a.every((d, i) => d.file === b[i]?.file && d.text === b[i]?.text);
}
