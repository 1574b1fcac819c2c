/**
 * Engine benchmark: `npm run bench:engine` (build, then `node --expose-gc dist/bench/engine.js [profiles-dir]`).
 *
 * Prints, all measured in the same run:
 *   1. how long loading + compiling every profile takes (fresh processes and in-process);
 *   2. decisions per second for each stage of fapi2-security and fapi1-advanced (allow fixture, first deny vector);
 *   3. the fapi2-security token stage against a naive json-logic-js + ajv evaluator and a hand-written function.
 *
 * Every loop is bounded in iterations and in time; the whole run stays well under a minute. A missing
 * profile, fixture or vector yields a "skipped: <reason>" row, never a crash. The machine running this is
 * usually shared, so treat the figures as indicative.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import jsonLogic from 'json-logic-js';
import {
  BUNDLED_PROFILES_DIR, buildProfileSet, checkFacts, CompiledProfile, FACTS_SCHEMAS, findProfileFiles, loadProfiles, mergePatch,
  readDocuments, STAGES, type Decision, type DocumentInput, type ProfileSet, type RuleSpec, type Settings, type Stage,
} from '../src/index.js';
import commonFactsSchema from '../schemas/facts/common.schema.json' with { type: 'json' };

const PROFILES_DIR = process.argv[2] ?? BUNDLED_PROFILES_DIR;
const STAGE_PROFILES = ['fapi2-security', 'fapi1-advanced'] as const;
const COMPARE_PROFILE = 'fapi2-security';
const COMPARE_STAGE: Stage = 'token';
const TARGET_COMPILE_MS = 300;
const TARGET_TOKEN_OPS = 1_000_000;
const TARGET_HAND_RATIO = 10;

// ------------------------------------------------------------------------------------------------ timing

/** Everything measured feeds this, so no benchmarked call can be optimised away. Printed at the end. */
let sink = 0;

const exposedGc = (globalThis as { gc?: unknown }).gc;
const gc: () => void = typeof exposedGc === 'function' ? () => (exposedGc as () => void)() : () => {};

interface Measurement {
  opsPerSec: number;
  nsPerOp: number;
  iterations: number;
  samples: number;
}

interface MeasureOptions {
  /** Warm-up time (the JIT settles; also calibrates the per-op cost). */
  warmupMs?: number;
  /** Length of one timed sample; the median of `samples` samples is reported. */
  sampleMs?: number;
  samples?: number;
  /** Hard cap on iterations per sample and during warm-up. */
  maxIterations?: number;
}

/**
 * Times `fn` (which returns a number for the sink). Warm-up doubles its batch until `warmupMs` has passed,
 * then each sample runs a fixed count sized to take about `sampleMs`. Total time per call is bounded by
 * roughly warmupMs * 2 + samples * sampleMs, or one call's duration per sample for very slow functions.
 */
function measure(fn: () => number, options: MeasureOptions = {}): Measurement {
  const { warmupMs = 100, sampleMs = 120, samples = 3, maxIterations = 20_000_000 } = options;
  gc();
  let done = 0;
  let batch = 1;
  let acc = 0;
  const start = performance.now();
  while (performance.now() - start < warmupMs && done < maxIterations) {
    for (let i = 0; i < batch; i++) acc += fn();
    done += batch;
    batch = Math.min(batch * 2, 65_536, maxIterations - done || 1);
  }
  const perOpMs = (performance.now() - start) / done;
  const iterations = Math.max(1, Math.min(maxIterations, Math.round(sampleMs / perOpMs)));
  const sampleCount = perOpMs > sampleMs ? 1 : samples;
  const times: number[] = [];
  for (let s = 0; s < sampleCount; s++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) acc += fn();
    times.push((performance.now() - t0) / iterations);
  }
  sink += acc;
  const ms = median(times);
  return { opsPerSec: 1000 / ms, nsPerOp: ms * 1e6, iterations, samples: sampleCount };
}

/** Times an async or slow one-shot action `runs` times (bounded by `budgetMs` overall); median in ms. */
async function timeRuns(runs: number, budgetMs: number, action: () => unknown): Promise<{ medianMs: number; minMs: number; runs: number }> {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs && (i < 2 || performance.now() - start < budgetMs); i++) {
    gc();
    const t0 = performance.now();
    const result = await action();
    times.push(performance.now() - t0);
    sink += result ? 1 : 0;
  }
  return { medianMs: median(times), minMs: Math.min(...times), runs: times.length };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

// ------------------------------------------------------------------------------------------------ output

const ops = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const us = (nsPerOp: number) => (nsPerOp / 1000).toFixed(nsPerOp >= 100_000 ? 0 : 2);
const ratio = (n: number) => `${n >= 100 ? n.toFixed(0) : n.toFixed(1)}x`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

function printTable(title: string, headers: string[], rows: string[][], rightAlign: ReadonlySet<number> = new Set()): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] ?? e.name : String(e);
}

// ------------------------------------------------------------------------------------------------ fixtures

interface Case {
  facts: Record<string, unknown>;
  label: string;
}

interface Suite {
  fixtures: Record<string, Record<string, unknown>>;
  vectors: ReadonlyArray<{ name: string; stage: string; fixture?: string; facts?: Record<string, unknown>; expect: string }>;
}

/** Fixtures and vectors of a profile, merged over every suite (inline tests and the sibling tests file). */
function suiteOf(set: ProfileSet, profile: string): Suite {
  const fixtures: Suite['fixtures'] = {};
  const vectors: Array<Suite['vectors'][number]> = [];
  for (const s of set.suites) {
    if (s.profile !== profile) continue;
    Object.assign(fixtures, s.fixtures);
    vectors.push(...s.vectors);
  }
  return { fixtures, vectors };
}

function allowCase(suite: Suite, stage: Stage): Case | string {
  const fixture = suite.fixtures[stage];
  if (!fixture) return `no fixture '${stage}'`;
  return { facts: structuredClone(fixture), label: `fixture ${stage}` };
}

function denyCase(suite: Suite, stage: Stage): Case | string {
  const vector = suite.vectors.find((v) => v.stage === stage && v.expect === 'deny');
  if (!vector) return `no deny vector for ${stage}`;
  const fixture = suite.fixtures[vector.fixture ?? stage];
  if (!fixture) return `vector '${vector.name}': no fixture '${vector.fixture ?? stage}'`;
  return { facts: mergePatch(structuredClone(fixture), structuredClone(vector.facts ?? {})), label: vector.name };
}

// ------------------------------------------------------------------------------------------------ 1. compile

async function benchCompile(): Promise<{ set: ProfileSet | undefined; rows: string[][]; notes: string[] }> {
  const rows: string[][] = [];
  const notes: string[] = [];

  // Fresh processes: nothing cached (profile-language schema, facts validators, JIT).
  const libUrl = new URL('../src/index.js', import.meta.url).href;
  const child = `
    const t0 = performance.now();
    const lib = await import(process.env.BENCH_LIB_URL);
    const t1 = performance.now();
    const set = await lib.loadProfiles([process.env.BENCH_PROFILES_DIR]);
    const t2 = performance.now();
    for (const s of lib.STAGES) lib.checkFacts(s, {});
    const t3 = performance.now();
    process.stdout.write(JSON.stringify({ importMs: t1 - t0, loadMs: t2 - t1, factsMs: t3 - t2, profiles: set.ids().length }));`;
  const fresh: Array<{ importMs: number; loadMs: number; factsMs: number; profiles: number }> = [];
  const freshStart = performance.now();
  for (let i = 0; i < 5 && performance.now() - freshStart < 6000; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
      env: { ...process.env, BENCH_LIB_URL: libUrl, BENCH_PROFILES_DIR: PROFILES_DIR },
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (r.status !== 0) {
      const lines = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n');
      notes.push(`fresh-process run failed: ${(lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[0] ?? '').trim()}`);
      break;
    }
    try {
      fresh.push(JSON.parse(r.stdout) as (typeof fresh)[number]);
    } catch {
      notes.push('fresh-process run printed no result');
      break;
    }
  }
  if (fresh.length) {
    const n = `median of ${fresh.length} processes`;
    const load = median(fresh.map((f) => f.loadMs));
    rows.push(['fresh process: import library (ajv, yaml, profile-language schema)', ms(median(fresh.map((f) => f.importMs))), n, '']);
    rows.push([`fresh process: loadProfiles(dir), ${fresh[0]?.profiles ?? 0} profiles`, ms(load), n, `${verdict(load < TARGET_COMPILE_MS)} (< ${TARGET_COMPILE_MS} ms)`]);
    rows.push(['fresh process: first checkFacts of all 11 stages (facts validators)', ms(median(fresh.map((f) => f.factsMs))), n, '']);
  } else {
    rows.push(['fresh process runs', 'skipped', notes.at(-1) ?? 'no result', '']);
  }

  // In process.
  let set: ProfileSet | undefined;
  try {
    const t0 = performance.now();
    await loadProfiles([PROFILES_DIR]);
    rows.push(['this process: first loadProfiles(dir)', ms(performance.now() - t0), '1 run', '']);
    // The decision benchmarks below need the fixtures and vectors of the *.tests.yaml files.
    set = await loadProfiles([PROFILES_DIR], { tests: true });
    const warm = await timeRuns(9, 2500, () => loadProfiles([PROFILES_DIR]));
    rows.push(['this process: loadProfiles(dir), warm JIT', ms(warm.medianMs), `median of ${warm.runs}`, `${verdict(warm.medianMs < TARGET_COMPILE_MS)} (< ${TARGET_COMPILE_MS} ms)`]);
    let docs: DocumentInput[] = [];
    const read = await timeRuns(9, 1000, async () => (docs = await readDocuments(await findProfileFiles([PROFILES_DIR]))));
    rows.push([`  of which find + read ${docs.length} files`, ms(read.medianMs), `median of ${read.runs}`, '']);
    const build = await timeRuns(9, 2500, () => buildProfileSet(docs));
    rows.push(['  of which buildProfileSet(read documents): parse+validate+resolve+compile', ms(build.medianMs), `median of ${build.runs}`, '']);
    const profileDocs = docs.filter((d) => !/\.tests\.ya?ml$/.test(d.file));
    if (profileDocs.length < docs.length) {
      const only = await timeRuns(9, 2000, () => buildProfileSet(profileDocs));
      rows.push([`  buildProfileSet without the ${docs.length - profileDocs.length} *.tests.yaml files (for comparison)`, ms(only.medianMs), `median of ${only.runs}`, '']);
    }
    for (const id of set.ids()) {
      const p = set.get(id) as CompiledProfile;
      const c = await timeRuns(9, 600, () => new CompiledProfile(p.resolved));
      rows.push([`    new CompiledProfile(${id}.resolved): ${p.rules.length} rules`, ms(c.medianMs), `median of ${c.runs}`, '']);
    }
    if (!set.ok) {
      const errors = set.diagnostics.filter((d) => d.severity === 'error');
      notes.push(`profile set has ${errors.length} error diagnostic(s); failed: ${[...set.failed].join(', ') || '-'}; first: ${errors[0] ? `${errors[0].file}:${errors[0].line}: ${errors[0].message}` : ''}`);
    }
  } catch (e) {
    rows.push(['this process: loadProfiles(dir)', 'skipped', describe(e), '']);
  }
  return { set, rows, notes };
}

// ------------------------------------------------------------------------------------------------ 2. per stage

function benchStages(set: ProfileSet | undefined): string[][] {
  const rows: string[][] = [];
  for (const id of STAGE_PROFILES) {
    const profile = set?.get(id);
    if (!profile) {
      const why = !set ? 'profiles did not load' : set.failed.has(id) ? `${id} failed to load` : `no profile ${id} in ${PROFILES_DIR}`;
      rows.push([id, '*', '', '', '', '', '', '', `skipped: ${why}`]);
      continue;
    }
    const suite = suiteOf(set as ProfileSet, id);
    for (const stage of STAGES) {
      const rules = String(profile.rulesFor(stage).length);
      for (const [kind, c] of [['allow', allowCase(suite, stage)], ['deny', denyCase(suite, stage)]] as const) {
        if (typeof c === 'string') {
          rows.push([id, stage, rules, kind, '', '', '', '', `skipped: ${c}${rules === '0' ? ' (the stage has no rules)' : ''}`]);
          continue;
        }
        let decision: Decision;
        try {
          decision = profile.evaluate(stage, c.facts);
        } catch (e) {
          rows.push([id, stage, rules, kind, '', '', '', '', `skipped: evaluate threw: ${describe(e)}`]);
          continue;
        }
        const facts = c.facts;
        const m = measure(() => profile.evaluate(stage, facts).violations.length);
        const unexpected = decision.decision !== kind ? ` (expected ${kind}!)` : '';
        const label = kind === 'deny' ? c.label : '';
        rows.push([id, stage, rules, kind, decision.decision + unexpected, String(decision.violations.length), ops(m.opsPerSec), us(m.nsPerOp), label]);
      }
    }
  }
  return rows;
}

// ------------------------------------------------------------------------------------------------ 3a. naive

/** The operators of the profile language that json-logic-js lacks, with the same meaning. */
function addNaiveOperators(): void {
  const typeOf = (v: unknown) => (v === null || v === undefined ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  jsonLogic.add_operation('length', (a: unknown) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    throw new Error(`'length' needs a string or an array, got ${typeOf(a)}`);
  });
  jsonLogic.add_operation('starts_with', (a: string, b: string) => String(a).startsWith(String(b)));
  jsonLogic.add_operation('subset', (a: unknown[], b: unknown[]) => Array.isArray(a) && Array.isArray(b) && a.every((x) => b.includes(x)));
  jsonLogic.add_operation('words', (a: string) => String(a).split(' ').filter((w) => w !== ''));
  jsonLogic.add_operation('typeof', typeOf);
}

interface NaiveRule {
  id: string;
  severity: RuleSpec['severity'];
  message: string;
  when?: unknown;
  logic?: unknown;
  schema?: object;
  /** Only used by the cached variant. */
  validate?: ValidateFunction;
}

/** `${stage}` replaced in var paths (json-logic-js interprets the raw expression, as written). */
function substituteStage(expr: unknown, stage: string): unknown {
  if (Array.isArray(expr)) return expr.map((e) => substituteStage(e, stage));
  if (expr === null || typeof expr !== 'object') return expr;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(expr)) {
    if (k === 'var' && typeof v === 'string') out[k] = v.replaceAll('${stage}', stage);
    else if (k === 'var' && Array.isArray(v) && typeof v[0] === 'string') out[k] = [v[0].replaceAll('${stage}', stage), ...v.slice(1)];
    else out[k] = substituteStage(v, stage);
  }
  return out;
}

/** `{ $setting: path }` replaced by the setting's value, as the engine does at compile time. */
function substituteSettings(node: unknown, settings: Settings, stage: string): unknown {
  if (Array.isArray(node)) return node.map((n) => substituteSettings(n, settings, stage));
  if (node === null || typeof node !== 'object') return node;
  const keys = Object.keys(node);
  if (keys.length === 1 && keys[0] === '$setting') {
    let value: unknown = settings;
    for (const s of String((node as { $setting: unknown }).$setting).replaceAll('${stage}', stage).split('.')) value = (value as Record<string, unknown>)?.[s];
    return structuredClone(value);
  }
  return Object.fromEntries(keys.map((k) => [k, substituteSettings((node as Record<string, unknown>)[k], settings, stage)]));
}

function freshAjv(): Ajv2020 {
  return new Ajv2020({ strict: false, allowUnionTypes: true, unicode: false, logger: false });
}

interface NaiveEvaluator {
  decide: (facts: unknown) => { decision: 'allow' | 'deny'; violations: Array<{ rule: string; message: string }> };
  logicRules: number;
  schemaRules: number;
}

/**
 * json-logic-js `apply` on each rule's raw `when` / `check.logic` over {facts, settings}. With
 * `compilePerCall`, every decision builds a new ajv instance for the facts schema and for each
 * `check.schema` rule (no caching at all); otherwise those validators are compiled once.
 */
function naiveEvaluator(profile: CompiledProfile, stage: Stage, compilePerCall: boolean): NaiveEvaluator {
  const settings = profile.settings;
  const rules: NaiveRule[] = profile.resolved.rules
    .filter((r) => (Array.isArray(r.stage) ? r.stage : [r.stage]).includes(stage))
    .map((r) => ({
      id: r.id,
      severity: r.severity,
      message: r.message,
      ...(r.when !== undefined ? { when: substituteStage(r.when, stage) } : {}),
      ...(r.check.logic !== undefined ? { logic: substituteStage(r.check.logic, stage) } : { schema: substituteSettings(r.check.schema, settings, stage) as object }),
    }));
  const factsSchema = FACTS_SCHEMAS[stage];
  const compileFacts = () => {
    const ajv = freshAjv();
    ajv.addSchema(commonFactsSchema);
    return ajv.compile(factsSchema);
  };
  const cachedFacts = compilePerCall ? undefined : compileFacts();
  if (!compilePerCall) for (const r of rules) if (r.schema) r.validate = freshAjv().compile(r.schema);
  const decide: NaiveEvaluator['decide'] = (facts) => {
    const validateFacts = cachedFacts ?? compileFacts();
    if (!validateFacts(facts)) return { decision: 'deny', violations: [{ rule: 'fapi-policy/facts', message: 'facts do not match the stage schema' }] };
    const data = { facts, settings };
    const violations: Array<{ rule: string; message: string }> = [];
    const warnings: Array<{ rule: string; message: string }> = [];
    for (const r of rules) {
      let ok: boolean;
      try {
        if (r.when !== undefined && !jsonLogic.truthy(jsonLogic.apply(r.when as jsonLogic.RulesLogic, data))) continue;
        if (r.logic !== undefined) ok = jsonLogic.truthy(jsonLogic.apply(r.logic as jsonLogic.RulesLogic, data));
        else ok = (r.validate ?? freshAjv().compile(r.schema as object))(facts) as boolean;
      } catch (e) {
        violations.push({ rule: r.id, message: `${r.message} (${describe(e)})` });
        continue;
      }
      if (!ok) (r.severity === 'error' ? violations : warnings).push({ rule: r.id, message: r.message });
    }
    return { decision: violations.length ? 'deny' : 'allow', violations };
  };
  return { decide, logicRules: rules.filter((r) => r.logic !== undefined).length, schemaRules: rules.filter((r) => r.schema).length };
}

// ------------------------------------------------------------------------------------------------ 3b. hand-written

/** The token-stage rules of fapi2-security the hand-written function encodes. */
const HAND_RULES = [
  'FAPI2-SP-FINAL-5.3.2.1-2', 'RFC6749-5.2', 'FAPI2-SP-FINAL-5.3.2.1-3', 'FAPI2-SP-FINAL-5.3.2.2-9', 'FAPI2-SP-FINAL-5.3.2.1-11',
  'RFC7636-4.6', 'RFC7636-4.1', 'RFC6749-4.1.3-3', 'RFC6749-4.1.3-5', 'FAPI2-SP-FINAL-5.3.2.1-4', 'FAPI2-SP-FINAL-5.3.2.1-5',
  'FAPI2-SP-FINAL-5.3.2.1-12',
] as const;

interface TokenFacts {
  time: number;
  client?: { client_id?: string };
  client_authenticated?: boolean;
  params: { grant_type: string; code_verifier?: string; redirect_uri?: string };
  code?: { issued_at?: number; redeemed_before?: boolean; client_id?: string; redirect_uri?: string; pkce_verified?: boolean; dpop_jkt?: string };
  sender_constraint?: { method?: string; mtls_thumbprint?: string; dpop_jkt?: string };
}

interface HandViolation {
  rule: string;
  message: string;
}

/**
 * fapi2-security's token-stage rules as plain JavaScript `if`s, settings read once. No facts-schema
 * validation and no hostile-shape scan: the practical ceiling for these checks, not a safe evaluator.
 * A missing fact a rule needs counts as that rule failing, as in the engine.
 */
function handWrittenToken(profile: CompiledProfile): (facts: unknown) => { decision: 'allow' | 'deny'; violations: HandViolation[] } {
  const s = profile.settings as {
    grant_types: readonly string[];
    lifetimes: { authorization_code: number };
    pkce: { required: boolean };
    sender_constraint: { required: boolean; methods: readonly string[] };
  };
  const grantTypes = s.grant_types;
  const codeLifetime = s.lifetimes.authorization_code;
  const pkceRequired = s.pkce.required;
  const scRequired = s.sender_constraint.required;
  const scMethods = s.sender_constraint.methods;
  const message = new Map(profile.rules.map((r) => [r.id, r.message]));
  const v = (rule: string): HandViolation => ({ rule, message: message.get(rule) ?? '' });
  const present = (x: unknown) => x !== undefined && x !== null;

  return (input) => {
    const f = input as TokenFacts;
    const violations: HandViolation[] = [];
    const grant = f.params.grant_type;
    if (grant === 'password') violations.push(v('FAPI2-SP-FINAL-5.3.2.1-2'));
    if (!grantTypes.includes(grant)) violations.push(v('RFC6749-5.2'));
    if (f.client_authenticated !== true) violations.push(v('FAPI2-SP-FINAL-5.3.2.1-3'));
    const sc = f.sender_constraint;
    if (grant === 'authorization_code') {
      const code = f.code;
      if (code?.redeemed_before !== false) violations.push(v('FAPI2-SP-FINAL-5.3.2.2-9'));
      if (typeof code?.issued_at !== 'number' || f.time - code.issued_at > codeLifetime) violations.push(v('FAPI2-SP-FINAL-5.3.2.1-11'));
      if (pkceRequired) {
        if (code?.pkce_verified !== true) violations.push(v('RFC7636-4.6'));
        const verifier = f.params.code_verifier;
        if (typeof verifier !== 'string' || verifier.length < 43 || verifier.length > 128) violations.push(v('RFC7636-4.1'));
      }
      if (!present(code?.client_id) || code?.client_id !== f.client?.client_id) violations.push(v('RFC6749-4.1.3-3'));
      if (present(code?.redirect_uri) && (f.params.redirect_uri ?? null) !== code?.redirect_uri) violations.push(v('RFC6749-4.1.3-5'));
      if (present(code?.dpop_jkt) && (sc?.dpop_jkt ?? null) !== code?.dpop_jkt) violations.push(v('FAPI2-SP-FINAL-5.3.2.1-12'));
    }
    const method = sc?.method ?? 'none';
    if (scRequired && method === 'none') violations.push(v('FAPI2-SP-FINAL-5.3.2.1-4'));
    if (method !== 'none') {
      const proven = (method === 'mtls' && present(sc?.mtls_thumbprint)) || (method === 'dpop' && present(sc?.dpop_jkt));
      if (!scMethods.includes(method) || !proven) violations.push(v('FAPI2-SP-FINAL-5.3.2.1-5'));
    }
    return { decision: violations.length ? 'deny' : 'allow', violations };
  };
}

// ------------------------------------------------------------------------------------------------ 3. comparison

function sameRules(a: ReadonlyArray<{ rule: string }>, b: ReadonlyArray<{ rule: string }>): boolean {
  return [...new Set(a.map((x) => x.rule))].sort().join() === [...new Set(b.map((x) => x.rule))].sort().join();
}

function benchCompare(set: ProfileSet | undefined): { rows: string[][]; notes: string[] } {
  const rows: string[][] = [];
  const notes: string[] = [];
  const profile = set?.get(COMPARE_PROFILE);
  if (!set || !profile) {
    rows.push(['(all)', '', '', '', `skipped: profile ${COMPARE_PROFILE} not loaded`]);
    return { rows, notes };
  }
  const suite = suiteOf(set, COMPARE_PROFILE);
  const allow = allowCase(suite, COMPARE_STAGE);
  if (typeof allow === 'string') {
    rows.push(['(all)', '', '', '', `skipped: ${allow}`]);
    return { rows, notes };
  }
  const deny = denyCase(suite, COMPARE_STAGE);
  const facts = allow.facts;
  const stageRules = profile.rulesFor(COMPARE_STAGE).length;
  const ourDecision = profile.evaluate(COMPARE_STAGE, facts);
  notes.push(`${COMPARE_PROFILE} / ${COMPARE_STAGE}: ${stageRules} rules; allow fixture -> ours: ${ourDecision.decision}`);

  const ours = measure(() => profile.evaluate(COMPARE_STAGE, facts).violations.length);
  rows.push(['ours: profile.evaluate (facts schema + rules)', ops(ours.opsPerSec), us(ours.nsPerOp), '1.0x',
    `${verdict(ours.opsPerSec >= TARGET_TOKEN_OPS)} (>= ${ops(TARGET_TOKEN_OPS)}/s)`]);

  const factsOnly = measure(() => (checkFacts(COMPARE_STAGE, facts) === null ? 1 : 0));
  rows.push(['  of which checkFacts alone (shape scan + ajv)', ops(factsOnly.opsPerSec), us(factsOnly.nsPerOp), '',
    `${((factsOnly.nsPerOp / ours.nsPerOp) * 100).toFixed(0)}% of an evaluate`]);
  const rulesNs = ours.nsPerOp - factsOnly.nsPerOp;
  rows.push(['  rules + decision only (evaluate - checkFacts, derived)', rulesNs > 0 ? ops(1e9 / rulesNs) : 'n/a', rulesNs > 0 ? us(rulesNs) : 'n/a', '', 'difference of the two rows above']);

  // (a) naive.
  try {
    addNaiveOperators();
    for (const [label, perCall] of [['naive: json-logic-js apply + ajv compiled per decision', true], ['naive, ajv cached: json-logic-js apply + validators compiled once', false]] as const) {
      const naive = naiveEvaluator(profile, COMPARE_STAGE, perCall);
      const check = naive.decide(facts);
      const agree = check.decision === ourDecision.decision && sameRules(check.violations, ourDecision.violations);
      const m = measure(() => naive.decide(facts).violations.length, perCall ? { warmupMs: 300, sampleMs: 300, samples: 3, maxIterations: 2000 } : {});
      rows.push([label, ops(m.opsPerSec), us(m.nsPerOp), `ours ${ratio(ours.opsPerSec / m.opsPerSec)}`,
        `${naive.logicRules} logic + ${naive.schemaRules} schema rules${agree ? '' : `; DISAGREES: ${check.decision} [${check.violations.map((x) => x.rule).join(', ')}]`}`]);
    }
  } catch (e) {
    rows.push(['naive', '', '', '', `skipped: ${describe(e)}`]);
  }

  // (b) hand-written.
  const tokenIds = profile.rulesFor(COMPARE_STAGE).map((r) => r.id);
  const missing = tokenIds.filter((id) => !(HAND_RULES as readonly string[]).includes(id));
  const extra = HAND_RULES.filter((id) => !tokenIds.includes(id));
  if (COMPARE_STAGE !== 'token') {
    rows.push(['hand-written', '', '', '', 'skipped: written for the token stage only']);
  } else {
    try {
      const hand = handWrittenToken(profile);
      const handAllow = hand(facts);
      const agreeAllow = handAllow.decision === ourDecision.decision && sameRules(handAllow.violations, ourDecision.violations);
      let agreeDeny = 'no deny vector';
      if (typeof deny !== 'string') {
        const ourDeny = profile.evaluate(COMPARE_STAGE, deny.facts);
        const handDeny = hand(deny.facts);
        agreeDeny = handDeny.decision === ourDeny.decision && sameRules(handDeny.violations, ourDeny.violations)
          ? `agrees on '${deny.label}'`
          : `DISAGREES on '${deny.label}': [${handDeny.violations.map((x) => x.rule).join(', ')}] vs [${ourDeny.violations.map((x) => x.rule).join(', ')}]`;
      }
      const m = measure(() => hand(facts).violations.length);
      rows.push(['hand-written plain JS ifs (no facts-schema validation)', ops(m.opsPerSec), us(m.nsPerOp), `hand ${ratio(m.opsPerSec / ours.opsPerSec)}`,
        `${verdict(m.opsPerSec / ours.opsPerSec <= TARGET_HAND_RATIO)} (within ${TARGET_HAND_RATIO}x); allow ${agreeAllow ? 'agrees' : 'DISAGREES'}; ${agreeDeny}`]);
      if (rulesNs > 0) {
        rows.push(['  hand-written vs our rules-only time', '', '', `hand ${ratio(rulesNs / m.nsPerOp)}`, 'both without facts-schema validation']);
      }
      const validated = measure(() => (checkFacts(COMPARE_STAGE, facts) === null ? hand(facts).violations.length : -1));
      rows.push(['hand-written + checkFacts (same facts validation as ours)', ops(validated.opsPerSec), us(validated.nsPerOp),
        `hand ${ratio(validated.opsPerSec / ours.opsPerSec)}`, 'like-for-like: validation included on both sides']);
    } catch (e) {
      rows.push(['hand-written', '', '', '', `skipped: ${describe(e)}`]);
    }
    if (missing.length || extra.length) {
      notes.push(`hand-written function is stale: profile token rules not encoded [${missing.join(', ')}]; encoded but gone [${extra.join(', ')}]`);
    }
  }
  return { rows, notes };
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log('fapi-policy engine benchmark');
  console.log(`node ${process.version} (${process.platform}/${process.arch}); CPU: ${cpu} x${os.cpus().length}; gc ${typeof exposedGc === 'function' ? 'exposed' : 'not exposed (run with --expose-gc)'}`);
  console.log(`profiles: ${PROFILES_DIR}`);
  console.log('Figures are single-threaded and indicative (shared machine); medians of short bounded samples.');

  const compile = await benchCompile();
  printTable('1. Cold compile of all profiles (read + parse + validate + resolve + compile)', ['what', 'ms', 'runs', 'target'], compile.rows, new Set([1]));
  for (const n of compile.notes) console.log(`  note: ${n}`);

  const stageRows = benchStages(compile.set);
  printTable('2. Decisions per second, one core (profile.evaluate(stage, facts); deny = first deny vector over its fixture)',
    ['profile', 'stage', 'rules', 'case', 'decision', 'viol', 'ops/s', 'us/op', 'note'], stageRows, new Set([2, 5, 6, 7]));

  const compare = benchCompare(compile.set);
  printTable(`3. ${COMPARE_PROFILE} / ${COMPARE_STAGE} stage, allow fixture: the same rules evaluated other ways`,
    ['evaluator', 'ops/s', 'us/op', 'ratio', 'note'], compare.rows, new Set([1, 2]));
  for (const n of compare.notes) console.log(`  note: ${n}`);
  console.log('  (c) a third evaluator (e.g. code generation via new Function) was skipped: profiles are untrusted input.');

  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s; sink ${sink % 1000}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
