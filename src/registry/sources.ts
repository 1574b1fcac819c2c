/**
 * Where profiles come from: directories (and single files), signed bundle files, signed bundle URLs.
 * Each source keeps its last good documents: a failed refresh records the error and changes nothing,
 * so the registry can always rebuild from the last good state of every source. New documents are a
 * candidate until the registry has built and activated a set from them (`settle`): a bundle that
 * verifies but does not compile never becomes the loaded revision.
 */
import { createHash } from 'node:crypto';
import { lstat, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { findProfileFiles, readDocuments } from '../profile/files.js';
import type { DocumentInput } from '../profile/load.js';
import { BUNDLE_LIMITS, BundleError, bundleDocuments, readBounded, verifyBundle, type TrustSet, type VerifiedBundle } from './bundle.js';
import { directoriesUnder, entriesOf, type WatchTarget } from './watch.js';
import { MemoryRollbackFloor, type RollbackFloor } from './rollback-floor.js';

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
  /** Local sources: digest of the files on disk at the last look (a refresh or a disk check). */
  disk_digest?: string;
  /** Local sources: digest of the files the active set was built from. */
  active_digest?: string;
  /** Local sources: what is on disk is not what is active (not reloaded yet, or it failed to). */
  stale?: boolean;
  disk_checked_at?: string;
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
  /** Directories whose entries' changes should trigger a reload, computed now. Never rejects. */
  watchTargets(): Promise<WatchTarget[]>;
  /**
   * The periodic safety net beside the watch: looks at the files on disk again and resolves true
   * when they differ from what the last refresh read. Never rejects; false for URL sources.
   */
  checkDisk(): Promise<boolean>;
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
  /** Local sources: their files on disk against the active ones. */
  protected readonly disk?: DiskState;

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
    return this.disk ? quietSince(await this.disk.files().catch(() => [])) : Infinity;
  }

  status(): SourceStatus {
    return { kind: this.kind, location: this.location, active: this.docs !== null, ...this.state, ...this.disk?.status() };
  }

  async checkDisk(): Promise<boolean> {
    return this.disk ? this.disk.check() : false;
  }

  async watchTargets(): Promise<WatchTarget[]> {
    return this.disk ? entriesOf(this.location).catch(() => []) : [];
  }

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

/**
 * A local source's files on disk against those it has active. A refresh reads the files and records
 * their digest; the active digest follows once a set built from them is active. The periodic check
 * looks again without reading everything: it stats the files first (identity, size, change times,
 * taken before any read so that a write during the read shows next time) and hashes them only when
 * that fingerprint moved, or when a file changed too recently for its times to tell (see fingerprintOf).
 */
class DiskState {
  /** The last look at the disk; null when it could not be read. */
  private seen: { fingerprint: string | null; digest: string } | null = null;
  /** What the last refresh read (undefined when it could not read). */
  private readDigest: string | undefined;
  private activeDigest: string | undefined;
  private checkedAt: string | undefined;

  constructor(
    readonly files: () => Promise<string[]>,
    private readonly readFiles: (files: string[]) => Promise<DocumentInput[]>,
  ) {}

  /** For a refresh: the documents on disk, and what to call once they are active. */
  async read(): Promise<{ docs: DocumentInput[]; activate: () => void }> {
    this.readDigest = undefined;
    try {
      const { docs, digest } = await this.look();
      this.readDigest = digest;
      return { docs, activate: () => (this.activeDigest = digest) };
    } catch (e) {
      this.seen = null;
      throw e;
    }
  }

  /** True when the disk now differs from what the last refresh read. */
  async check(): Promise<boolean> {
    try {
      const files = await this.files();
      const fingerprint = await fingerprintOf(files);
      if (fingerprint === null || fingerprint !== this.seen?.fingerprint) await this.look(files, fingerprint);
    } catch {
      this.seen = null;
    }
    this.checkedAt = new Date().toISOString();
    return this.seen?.digest !== this.readDigest;
  }

  status(): Pick<SourceStatus, 'disk_digest' | 'active_digest' | 'stale' | 'disk_checked_at'> {
    return {
      ...(this.seen ? { disk_digest: this.seen.digest } : {}),
      ...(this.activeDigest ? { active_digest: this.activeDigest } : {}),
      stale: this.seen?.digest !== this.activeDigest,
      ...(this.checkedAt ? { disk_checked_at: this.checkedAt } : {}),
    };
  }

  /** Reads and hashes the files; `seen` changes only once that is done, so status never shows half a look. */
  private async look(known?: string[], fingerprinted?: string | null): Promise<{ docs: DocumentInput[]; digest: string }> {
    const files = known ?? (await this.files());
    const fingerprint = fingerprinted !== undefined ? fingerprinted : await fingerprintOf(files);
    const docs = await this.readFiles(files);
    const digest = contentDigest(docs);
    this.seen = { fingerprint, digest };
    this.checkedAt = new Date().toISOString();
    return { docs, digest };
  }
}

/**
 * A file changed less than this long ago may change again without its times moving: file times
 * advance in clock ticks (a few milliseconds on Linux, seconds on some filesystems).
 */
const UNSETTLED_NS = 3_000_000_000n;

/**
 * Each file's path, device and inode, size and change times (nanoseconds), in order; null when a
 * file changed within UNSETTLED_NS (or claims a future time), so that its content is hashed again.
 */
async function fingerprintOf(files: readonly string[]): Promise<string | null> {
  const stats = await Promise.all(files.map((f) => stat(f, { bigint: true })));
  const settled = BigInt(Date.now()) * 1_000_000n - UNSETTLED_NS;
  if (stats.some((s) => s.mtimeNs > settled || s.ctimeNs > settled)) return null;
  return stats.map((s, i) => `${files[i]}\0${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`).join('\n');
}

/** sha256 over each document's name and text, length-prefixed so no two sets can collide by framing. */
function contentDigest(docs: readonly DocumentInput[]): string {
  const hash = createHash('sha256');
  for (const d of docs) hash.update(`${d.file.length}:${d.file}${d.text.length}:`).update(d.text);
  return `sha256:${hash.digest('hex')}`;
}

export class DirectorySource extends BaseSource {
  protected override readonly disk = new DiskState(() => findProfileFiles([this.location]), readDocuments);

  constructor(path: string) {
    super('directory', resolve(path));
  }

  protected async load(): Promise<boolean> {
    const { docs, activate } = await this.disk.read();
    return this.accept(docs, activate);
  }

  /**
   * The root's own entry (and any symlink on its way), every directory under it (any entry: a new,
   * deleted or renamed file), and the real directory of every file that is a symlink (a ConfigMap's
   * `name.yaml -> ..data/name.yaml`; its `..data` flip shows in the root).
   */
  override async watchTargets(): Promise<WatchTarget[]> {
    const targets = await super.watchTargets();
    if (!(await stat(this.location).catch(() => null))?.isDirectory()) return targets;
    for (const dir of await directoriesUnder(this.location)) targets.push({ dir });
    for (const file of await this.disk.files().catch(() => [])) {
      if ((await lstat(file).catch(() => null))?.isSymbolicLink()) targets.push(...(await entriesOf(file).catch(() => [])));
    }
    return targets;
  }
}

abstract class BundleSource extends BaseSource {
  private verified: VerifiedBundle | null = null;

  constructor(kind: SourceKind, location: string, private readonly trust: TrustSet, private readonly issuer?: string, private readonly floor: RollbackFloor = new MemoryRollbackFloor()) {
    super(kind, location);
    if (!trust.keys.length) throw new BundleError('trust', 'a bundle source needs a trust set with at least one key');
  }

  /**
   * Verifies a bundle text and proposes its files; refuses rollbacks and a reused revision with
   * other content. The revision becomes the loaded one (and the rollback floor) only on commit.
   */
  protected async activate(jws: string, commit: () => void = () => {}): Promise<boolean> {
    const active = this.verified ? { revision: this.verified.manifest.revision, digest: this.verified.digest } : this.floor.get(this.location);
    const bundle = await verifyBundle(jws, this.trust, { minRevision: active?.revision, issuer: this.issuer });
    if (active && bundle.manifest.revision === active.revision && this.verified) {
      if (bundle.digest !== active.digest) {
        throw new BundleError('rollback', `bundle revision ${bundle.manifest.revision} is already loaded with different content; publish a higher revision`);
      }
      commit();
      return false;
    }
    if (active && bundle.manifest.revision === active.revision && bundle.digest !== active.digest) {
      throw new BundleError('rollback', `bundle revision ${bundle.manifest.revision} was served before with different content; publish a higher revision`);
    }
    return this.accept(bundleDocuments(bundle, this.location), () => {
      this.verified = bundle;
      this.floor.set(this.location, { revision: bundle.manifest.revision, digest: bundle.digest });
      Object.assign(this.state, { revision: bundle.manifest.revision, issuer: bundle.manifest.iss, kid: bundle.kid, digest: bundle.digest });
      commit();
    });
  }
}

export class BundleFileSource extends BundleSource {
  protected override readonly disk = new DiskState(async () => [this.location], async () => [
    { file: this.location, text: await readBounded(this.location, BUNDLE_LIMITS.maxBytes, 'too_large') },
  ]);

  constructor(path: string, trust: TrustSet, issuer?: string, floor?: RollbackFloor) {
    super('bundle-file', resolve(path), trust, issuer, floor);
  }

  protected async load(): Promise<boolean> {
    const { docs, activate } = await this.disk.read();
    return this.activate((docs[0] as DocumentInput).text, activate);
  }
}

export interface UrlSourceOptions {
  /** Where the highest activated revision is kept (default: memory). */
  floor?: RollbackFloor;
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
    super('bundle-url', redactUrl(url), trust, issuer, options.floor);
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
function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Every URL inside a message (from fetch, say), redacted the same way. */
function redactUrls(message: string): string {
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
