import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildProfileSet, type DocumentInput } from '../src/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const MINI_BASE_TEXT = readFileSync(`${FIXTURES}profiles/mini-base.yaml`, 'utf8');
export const miniBase: DocumentInput = { file: '/virtual/mini-base.yaml', text: MINI_BASE_TEXT };

export function doc(id: string, body: Record<string, unknown>): DocumentInput {
  return { file: `/virtual/${id}.yaml`, text: stringify({ id, title: `Test ${id}`, version: '1', spec: 'https://example.com/spec', ...body }) };
}

export function overlay(id: string, body: Record<string, unknown>): DocumentInput {
  return doc(id, { extends: 'mini-base', ...body });
}

/** Builds a set from in-memory documents; the mini base is always present. */
export function build(...docs: DocumentInput[]) {
  return buildProfileSet([miniBase, ...docs]);
}

export function errorsOf(set: ReturnType<typeof build>, file?: string): string[] {
  return set.diagnostics.filter((d) => d.severity === 'error' && (!file || d.file.endsWith(file))).map((d) => `${d.line}:${d.col}: ${d.message}`);
}

export const PAR_FACTS = {
  time: 1767225600,
  issuer: 'https://as.example',
  client_authenticated: true,
  params: { client_id: 'c1', response_type: 'code', redirect_uri: 'https://client.example/cb', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' },
};

/** A par-stage error rule named T-1; `over` changes any member. */
export const rule = (over: Record<string, unknown>) => ({ id: 'T-1', clause: 'T §1', stage: 'par', severity: 'error', message: 'Fix it.', ...over });

/** The overlay 'ov' of the mini base with these rules added; throws with the diagnostics if it does not load. */
export function profileWith(...rules: unknown[]) {
  const set = build(overlay('ov', { rules }));
  const p = set.get('ov');
  if (!p) throw new Error(set.diagnostics.map((d) => d.message).join('\n'));
  return p;
}

/** mulberry32: a tiny deterministic PRNG; same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
