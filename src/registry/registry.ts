/**
 * The active profile set and how it changes. A snapshot is immutable and replaced by a single
 * assignment, so a request that picked up a snapshot finishes on it, and no request can observe a
 * set that is half built. Reloads run one at a time; triggers that arrive during one are coalesced
 * into one more run. A reload whose result has any error keeps the last good snapshot.
 */
import type { Logger } from 'pino';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { formatDiagnostic } from '../profile/diagnostics.js';
import { buildProfileSet, type DocumentInput } from '../profile/load.js';
import type { ProfileSource, SourceStatus } from './sources.js';
import { DirectoryWatches } from './watch.js';

export interface Snapshot {
  readonly generation: number;
  readonly profiles: ReadonlyMap<string, CompiledProfile>;
  readonly loadedAt: string;
  /** Ids sorted, for listings and error messages. */
  readonly ids: readonly string[];
}

export interface ReloadObserver {
  reload(ok: boolean): void;
}

/** Checks a candidate profile set; the problems it names keep the set from becoming active. */
export type SetGuard = (candidate: Snapshot) => string[] | Promise<string[]>;

export interface ReloadReport {
  at: string;
  reason: string;
  ok: boolean;
  swapped: boolean;
  generation: number;
  errors: string[];
}

export interface ReadyReport {
  ready: boolean;
  generation: number;
  loaded_at: string | null;
  profiles: Record<string, string>;
  sources: SourceStatus[];
  last_reload: ReloadReport | null;
}

export interface RegistryOptions {
  log: Logger;
  /** Told of every reload and whether it succeeded (the decision service counts them). */
  metrics?: ReloadObserver;
  /** Watch directories and bundle files for changes (default true). */
  watch?: boolean;
  /**
   * Look at the local sources' files this often, in seconds (default 5; 0 = never): their digest
   * against the active one is reported, and with `watch`, a change the watch missed is reloaded.
   */
  checkSeconds?: number;
  /** With URL bundle sources, re-check every source this often, in seconds (0 = never). */
  pollSeconds?: number;
  /** Quiet period before a burst of file events becomes one reload. */
  debounceMs?: number;
  /**
   * A watched change is applied only once the changed files have not been modified for this long,
   * so a file that is still being written is never compiled half-way (default 1000 ms). SIGHUP and
   * explicit reloads do not wait.
   */
  settleMs?: number;
}

const EMPTY: Snapshot = Object.freeze({ generation: 0, profiles: new Map(), loadedAt: '', ids: [] });

interface Pending {
  force: boolean;
  reason: string;
  promise: Promise<ReloadReport>;
}

export class Registry {
  private snapshot: Snapshot = EMPTY;
  /** The snapshot was built while every source had documents. */
  private complete = false;
  private tail: Promise<unknown> = Promise.resolve();
  private pending: Pending | null = null;
  private lastReport: ReloadReport | null = null;
  private watches: DirectoryWatches | null = null;
  /** A watch event arrived since the last reload began (else a change the check finds was missed). */
  private watchSaw = false;
  private timers = new Set<NodeJS.Timeout>();
  private debounce: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly guards: SetGuard[] = [];
  private readonly listeners: Array<(snapshot: Snapshot) => void> = [];
  private readonly extraObservers: ReloadObserver[] = [];
  private readonly signalHandler = () => void this.reload({ force: true, reason: 'SIGHUP' });

  constructor(readonly sources: readonly ProfileSource[], private readonly options: RegistryOptions) {}

  /** The active set. Read it once per request and use that value throughout. */
  get current(): Snapshot {
    return this.snapshot;
  }

  /** First load, then file watching, the periodic disk check and URL polling. */
  async start(): Promise<ReloadReport> {
    const report = await this.reload({ force: true, reason: 'startup' });
    if (this.options.watch ?? true) {
      this.watches = new DirectoryWatches(() => this.onWatchEvent(), this.options.log);
      await this.enqueue(() => this.follow());
    }
    const check = this.options.checkSeconds ?? 5;
    if (check > 0 && this.sources.some((s) => s.kind !== 'bundle-url')) this.every(check, () => this.enqueue(() => this.checkDisks()));
    const poll = this.options.pollSeconds ?? 0;
    if (poll > 0 && this.sources.some((s) => s.kind === 'bundle-url')) this.every(poll, () => this.reload({ force: false, reason: 'poll' }));
    return report;
  }

  /**
   * Re-reads every source and rebuilds the set. `force: false` skips the rebuild when no source
   * changed (file events, polls); SIGHUP and explicit reloads always rebuild. Runs are strictly
   * sequential; triggers that arrive while one waits to start join it.
   */
  reload(options: { force?: boolean; reason?: string } = {}): Promise<ReloadReport> {
    const force = options.force ?? true;
    if (this.pending) {
      this.pending.force ||= force;
      return this.pending.promise;
    }
    const entry = { force, reason: options.reason ?? 'reload' } as Pending;
    this.pending = entry;
    entry.promise = this.enqueue(() => {
      if (this.pending === entry) this.pending = null;
      return this.run(entry.force, entry.reason).catch((e: unknown) => this.crashed(entry.reason, e));
    });
    return entry.promise;
  }

  /** Reloads, disk checks and watch updates run one at a time, in order. */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const done = this.tail.then(job);
    this.tail = done.catch(() => undefined);
    return done;
  }

  private async run(force: boolean, reason: string): Promise<ReloadReport> {
    this.watchSaw = false;
    const report = await this.rebuild(force, reason);
    await this.follow();
    return report;
  }

  private async rebuild(force: boolean, reason: string): Promise<ReloadReport> {
    const changes = await Promise.all(this.sources.map((s) => s.refresh()));
    const statuses = this.sources.map((s) => s.status());
    const sourceErrors = statuses.flatMap((s) => (s.ok ? [] : [`${s.location}: ${s.last_error ?? 'failed'}`]));
    if (!force && !changes.some(Boolean) && this.lastReport?.ok && !sourceErrors.length) return this.lastReport;
    const documents = this.sources.map((s) => s.documents());
    const inputs: DocumentInput[] = documents.flatMap((d) => d ?? []);
    const report = await this.build(inputs, reason, sourceErrors, documents.every((d) => d !== null));
    for (const source of this.sources) source.settle(report.swapped);
    for (const o of this.observers()) o.reload(report.ok);
    this.lastReport = report;
    this.logReport(report);
    return report;
  }

  /** A bug in a reload must not take the service down: it counts as a failed reload. */
  private crashed(reason: string, e: unknown): ReloadReport {
    const report = { at: new Date().toISOString(), reason, ok: false, swapped: false, generation: this.snapshot.generation, errors: [`reload failed: ${(e as Error)?.message ?? String(e)}`] };
    for (const o of this.observers()) o.reload(false);
    this.lastReport = report;
    this.logReport(report);
    return report;
  }

  private async build(inputs: DocumentInput[], reason: string, sourceErrors: string[], allActive: boolean): Promise<ReloadReport> {
    const at = new Date().toISOString();
    let errors: string[];
    let candidate: Snapshot | null = null;
    try {
      const set = buildProfileSet(inputs);
      errors = set.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
      if (!errors.length) {
        const profiles = new Map(set.profiles);
        candidate = Object.freeze({ generation: this.snapshot.generation + 1, profiles, loadedAt: at, ids: Object.freeze([...profiles.keys()].sort()) });
        errors = await this.guarded(candidate);
      }
    } catch (e) {
      errors = [`profile set failed to build: ${(e as Error).message}`];
    }
    const swapped = candidate !== null && !errors.length && !this.closed;
    if (swapped && candidate) {
      this.snapshot = candidate;
      this.complete = allActive;
      for (const listener of this.listeners) listener(candidate);
    }
    const all = [...sourceErrors, ...errors];
    return { at, reason, ok: all.length === 0, swapped, generation: this.snapshot.generation, errors: all };
  }

  /** What the guards refuse in a candidate set (a guard that throws refuses it too). */
  private async guarded(candidate: Snapshot): Promise<string[]> {
    const problems: string[] = [];
    for (const guard of this.guards) {
      try {
        problems.push(...(await guard(candidate)));
      } catch (e) {
        problems.push(`a consumer of the profile set failed to check it: ${(e as Error)?.message ?? String(e)}`);
      }
    }
    return problems;
  }

  /**
   * A consumer of the set (the authorization server) names what it cannot serve: a candidate set
   * with any problem is refused like one that failed to compile, and the last good set stays.
   */
  addGuard(guard: SetGuard): () => void {
    this.guards.push(guard);
    return () => removeOnce(this.guards, guard);
  }

  /** Another party counting reloads (a second server on a shared registry). */
  addObserver(observer: ReloadObserver): void {
    this.extraObservers.push(observer);
  }

  private observers(): ReloadObserver[] {
    return [...(this.options.metrics ? [this.options.metrics] : []), ...this.extraObservers];
  }

  /** The last reload's report; null before the first. */
  lastReload(): ReloadReport | null {
    return this.lastReport;
  }

  /** Called after each swap, with the new active set. */
  onSwap(listener: (snapshot: Snapshot) => void): () => void {
    this.listeners.push(listener);
    return () => removeOnce(this.listeners, listener);
  }

  private logReport(report: ReloadReport): void {
    const { log } = this.options;
    const summary = { reason: report.reason, generation: report.generation, profiles: this.snapshot.ids };
    if (report.ok) {
      log.info(summary, 'profiles loaded');
      return;
    }
    for (const e of report.errors) log.error({ reason: report.reason }, e);
    log.warn({ ...summary, swapped: report.swapped },
      report.swapped ? 'profiles loaded; failed sources keep their last good version' : 'reload failed; keeping the last good profile set');
  }

  /** Ready when every configured source has loaded (and verified) and the active set was built from all of them. */
  readiness(): ReadyReport {
    const sources = this.sources.map((s) => s.status());
    const ready = this.complete && sources.every((s) => s.active);
    const profiles = Object.fromEntries(this.snapshot.ids.map((id) => [id, this.snapshot.profiles.get(id)?.digest ?? '']));
    return { ready, generation: this.snapshot.generation, loaded_at: this.snapshot.loadedAt || null, profiles, sources, last_reload: this.lastReport };
  }

  /** Installs the SIGHUP handler (the CLI does; tests use reload()). Returns the uninstaller. */
  installSignalHandler(): () => void {
    process.on('SIGHUP', this.signalHandler);
    return () => process.off('SIGHUP', this.signalHandler);
  }

  /** Runs `then` after `ms`, replacing any watch timer already waiting. */
  private afterQuiet(ms: number, then: () => void): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      if (!this.closed) then();
    }, ms);
    this.debounce.unref();
  }

  /** Reloads once every watched file has been left alone for settleMs; until then, waits the rest. */
  private async reloadWhenSettled(reason: string): Promise<void> {
    const settle = this.options.settleMs ?? 1000;
    const quiet = Math.min(...(await Promise.all(this.sources.map((s) => s.quietMs()))));
    if (quiet < settle) this.afterQuiet(settle - quiet, () => void this.reloadWhenSettled(reason));
    else void this.reload({ force: false, reason });
  }

  private changed(reason: string): void {
    this.afterQuiet(this.options.debounceMs ?? 100, () => void this.reloadWhenSettled(reason));
  }

  private onWatchEvent(): void {
    this.watchSaw = true;
    this.changed('file change');
  }

  /**
   * Watches what the sources depend on now (directories come, go and are swapped between reloads);
   * true when a watch began now.
   */
  private async syncWatches(): Promise<boolean> {
    if (!this.watches || this.closed) return false;
    const targets = await Promise.all(this.sources.map((s) => s.watchTargets()));
    return (await this.watches.sync(targets.flat())) > 0;
  }

  /**
   * After a load: a watch that begins only now cannot report a change made since the sources were
   * read (a fix written into a release directory just switched to), so the disk is looked at once.
   */
  private async follow(): Promise<void> {
    if ((await this.syncWatches()) && (await this.disksChanged())) this.changed('file change');
  }

  private async disksChanged(): Promise<boolean> {
    return (await Promise.all(this.sources.map((s) => s.checkDisk()))).some(Boolean);
  }

  /**
   * The safety net beside the watch: every source looks at its files again (staleness stays
   * visible even without a watch); with the watch on, a change it did not report is reloaded.
   */
  private async checkDisks(): Promise<void> {
    const changed = await this.disksChanged();
    if (!this.watches || this.closed) return;
    await this.syncWatches();
    if (!changed) return;
    if (!this.watchSaw) this.options.log.warn('the periodic disk check found a change the file watch did not report; reloading');
    this.changed('disk check');
  }

  /** Runs `job` every `seconds` (each run waits for the previous one) until close. */
  private every(seconds: number, job: () => Promise<unknown>): void {
    if (this.closed) return;
    const timer = setTimeout(async () => {
      this.timers.delete(timer);
      await job().catch((e: unknown) => this.options.log.error(`periodic job failed: ${(e as Error)?.message ?? String(e)}`));
      this.every(seconds, job);
    }, seconds * 1000);
    timer.unref();
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.debounce) clearTimeout(this.debounce);
    process.off('SIGHUP', this.signalHandler);
    await this.tail;
    // After the queue: a watch update still running would otherwise open watchers after this.
    this.watches?.close();
  }
}

/** Removes `item` if it is still there: a second call must not splice index -1 (someone else's entry). */
function removeOnce<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
}
