/**
 * The promise as a property: an overlay built only from metadata_policy operators on a base's
 * settings, which lint passes without a waiver, denies every deny vector of that base (and of the
 * base's own bases). Lint's deny-vector replay is left out (no test files in the set), so this
 * checks what the refinement invariant and the polarity lint prove by construction.
 *
 * Random but reproducible: a seeded PRNG (FAPI_POLICY_PROPERTY_SEED to replay another run), a fixed
 * number of overlays per base (each setting the base reads, tightened alone and mixed with other
 * operators), and a time budget after which no further base is checked.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CompiledProfile } from '../../src/engine/compiled-profile.js';
import { walk } from '../../src/engine/logic/node.js';
import { buildProfileSet, loadProfiles, SETTING_KINDS } from '../../src/index.js';
import { vectorFacts } from '../../src/profile/vectors.js';
import profileSchema from '../../schemas/profile.schema.json' with { type: 'json' };
import { mulberry32 } from '../helpers.js';

const SEED = Number(process.env.FAPI_POLICY_PROPERTY_SEED ?? 20261204);
const MAX_OVERLAYS_PER_BASE = 100;
const BUDGET_MS = 20_000;
const BASES = ['fapi1-baseline', 'fapi1-advanced', 'fapi2-security', 'fapi2-message-signing'];

interface LeafSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  items?: { enum?: string[] };
}

const leafSchema = (setting: string): LeafSchema => {
  let node = profileSchema.$defs.settings as unknown as { properties?: Record<string, unknown> };
  for (const key of setting.split('.')) node = node.properties?.[key] as typeof node;
  return node as LeafSchema;
};

const shipped = await loadProfiles(['profiles'], { tests: true });
const texts = BASES.map((id) => ({ file: `/property/${id}.yaml`, text: readFileSync(`profiles/${id}.yaml`, 'utf8') }));

/** Values a list setting may hold: its enum, else what the shipped profiles use plus a stranger. */
function domain(setting: string): unknown[] {
  const schema = leafSchema(setting);
  if (schema.items?.enum) return schema.items.enum;
  const seen = new Set<unknown>(['X-RED-TEAM']);
  for (const id of BASES) for (const v of (walk(shipped.get(id)?.settings, setting.split('.')) as unknown[]) ?? []) seen.add(v);
  return [...seen];
}

function generator(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const some = <T>(xs: readonly T[]): T[] => xs.filter(() => random() < 0.5);
  const number = (schema: LeafSchema, current: number) => {
    const [min, max] = [schema.minimum ?? 0, schema.maximum ?? 2 * current + 10];
    const candidates = [min, max, current, current - 1, current + 1, Math.floor(current / 2), current * 2, min + Math.floor(random() * (max - min))];
    return Math.max(min, Math.min(max, pick(candidates)));
  };
  /** Any operators on one setting: in either direction, checks that hold or fail. */
  const anyOperators = (setting: string, current: unknown): Record<string, unknown> => {
    const schema = leafSchema(setting);
    const ops: Record<string, unknown> = {};
    if (Array.isArray(current)) {
      const all = domain(setting);
      const op = pick(['subset_of', 'add', 'value', 'superset_of', 'one_of', 'essential', 'default']);
      if (op === 'subset_of') ops.subset_of = [...some(current), ...some(all)];
      if (op === 'add') ops.add = some(all);
      if (op === 'value') ops.value = some(all);
      if (op === 'superset_of') ops.superset_of = random() < 0.7 ? some(current) : [...some(current), pick(all)];
      if (op === 'one_of') ops.one_of = [some(all), random() < 0.7 ? current : some(all)];
      if (op === 'essential') ops.essential = random() < 0.8;
      if (op === 'default') ops.default = some(all);
    } else if (typeof current === 'number') {
      const op = pick(['value', 'value', 'one_of', 'default', 'essential']);
      if (op === 'value') ops.value = number(schema, current);
      if (op === 'one_of') ops.one_of = [number(schema, current), random() < 0.7 ? current : number(schema, current)];
      if (op === 'default') ops.default = number(schema, current);
      if (op === 'essential') ops.essential = true;
    } else {
      const op = pick(['value', 'value', 'one_of', 'default']);
      if (op === 'value') ops.value = random() < 0.5;
      if (op === 'one_of') ops.one_of = random() < 0.7 ? [current] : [!current];
      if (op === 'default') ops.default = random() < 0.5;
    }
    return ops;
  };
  /** Operators that move one setting in its tighter direction, as far as its kind allows. */
  const tighten = (setting: string, current: unknown): Record<string, unknown> => {
    const schema = leafSchema(setting);
    switch (SETTING_KINDS.get(setting)) {
      case 'allow-list': {
        const list = current as unknown[];
        return { subset_of: random() < 0.5 ? list.filter((x) => x !== pick(list)) : some(list) };
      }
      case 'required-list':
        return { add: [pick(domain(setting))] };
      case 'maximum':
        return { value: pick([schema.minimum ?? 0, Math.floor((current as number) / 2), Math.max(schema.minimum ?? 0, (current as number) - 1)]) };
      case 'minimum':
        return { value: pick([schema.maximum ?? (current as number) * 2, (current as number) * 2, (current as number) + 1].map((n) => Math.min(n, schema.maximum ?? n))) };
      case 'require':
        return { value: true };
      default:
        return { value: false };
    }
  };
  /**
   * An overlay around one setting the base's rules read: either that setting alone moved in its
   * tighter direction, or moved by any operator beside one to three other settings under any operator.
   */
  return (id: string, base: CompiledProfile, primary: string, alone: boolean) => {
    const settings: Record<string, unknown> = {};
    const at = (setting: string) => walk(base.settings, setting.split('.'));
    settings[primary] = alone || random() < 0.5 ? tighten(primary, at(primary)) : anyOperators(primary, at(primary));
    for (let extra = alone ? 0 : 1 + Math.floor(random() * 3); extra > 0; extra--) {
      const setting = pick([...SETTING_KINDS.keys()]);
      settings[setting] = anyOperators(setting, at(setting));
    }
    return { file: `/property/${id}.yaml`, text: stringify({ id, title: 'Random overlay', version: '1', spec: 'https://example.com/property', extends: base.id, settings }) };
  };
}

/** The settings a profile's rules read, in an order the PRNG shuffles. */
function shuffledReads(base: CompiledProfile, random: () => number): string[] {
  const read = [...new Set(base.reads.map((r) => r.setting))].sort();
  for (let i = read.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [read[i], read[j]] = [read[j] as string, read[i] as string];
  }
  return read;
}

describe('property: lint-clean overlays without waivers keep every base denial', () => {
  it(`holds for up to ${MAX_OVERLAYS_PER_BASE} random overlays of each shipped profile (seed ${SEED})`, () => {
    const random = mulberry32(SEED);
    const generate = generator(random);
    const started = Date.now();
    const report = { passed: 0, refused: 0, vectors: 0 };
    for (const baseId of BASES) {
      if (Date.now() - started > BUDGET_MS) break;
      const base = shipped.get(baseId) as CompiledProfile;
      // Each setting the base reads, in turn: once tightened alone, once among random operators.
      const reads = shuffledReads(base, random);
      const count = Math.min(MAX_OVERLAYS_PER_BASE, 2 * reads.length);
      const overlays = Array.from({ length: count }, (_, i) => generate(`${baseId}-random-${i}`, base, reads[Math.floor(i / 2) % reads.length] as string, i % 2 === 0));
      // One set: the base chain compiles once, and overlays share its compiled rule schemas.
      const set = buildProfileSet([...texts, ...overlays]);
      const denials = shipped.suites
        .filter((s) => s.profile === baseId || base.resolved.extends.includes(s.profile))
        .flatMap((suite) => suite.vectors.filter((v) => v.expect === 'deny').map((vector) => ({ vector, facts: vectorFacts(suite, vector) as Record<string, unknown> })))
        .filter(({ vector, facts }) => base.evaluate(vector.stage, structuredClone(facts)).decision === 'deny');
      expect(denials.length).toBeGreaterThan(50);
      for (const overlay of overlays) {
        const id = overlay.file.replace(/^\/property\/|\.yaml$/g, '');
        const profile = set.get(id);
        const clean = profile && !set.diagnostics.some((d) => d.file === overlay.file && d.severity === 'error');
        if (!clean) {
          report.refused++;
          continue;
        }
        report.passed++;
        for (const { vector, facts } of denials) {
          report.vectors++;
          const decision = profile.evaluate(vector.stage, structuredClone(facts));
          expect(decision.decision, `seed ${SEED}: ${id} allows '${vector.name}' that ${baseId} denies\n${overlay.text}`).toBe('deny');
        }
      }
    }
    if (process.env.FAPI_POLICY_PROPERTY_REPORT) console.log(JSON.stringify(report));
    // The generator must produce overlays lint passes, and ones it refuses, for the property to say anything.
    expect(report.passed).toBeGreaterThan(20);
    expect(report.refused).toBeGreaterThan(20);
    expect(report.vectors).toBeGreaterThan(2000);
  }, 60_000);
});
