/**
 * `fapi-policy matrix`: the unobservable lists of profile headers, the matrix of every shipped overlay
 * (JSON against schemas/matrix.schema.json, every rule and header clause on a row), Markdown, and the
 * HTML page opened in Debian's chromium (headless, no screenshots) with every clause row present and
 * nothing fetched from anywhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './red-team/helpers.js';
import { loadProfiles, runTests } from '../src/index.js';
import { buildMatrix, type Matrix } from '../src/profile/matrix.js';
import { unobservableClauses } from '../src/profile/unobservable.js';
import matrixSchema from '../schemas/matrix.schema.json' with { type: 'json' };
import { tempDir } from './temp.js';

const OVERLAYS = ['au-cdr', 'uk-openbanking', 'br-openfinance', 'uae-cbuae', 'ksa', 'connectid-au', 'acme-bank'];
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

// One load for every matrix built in-process; the CLI path is exercised for each format below.
const set = await loadProfiles(['profiles'], { tests: true });
const matrices = new Map<string, Matrix>();
const matrixOf = async (id: string) => {
  if (!matrices.has(id)) {
    const profile = set.get(id)!;
    const headers = new Map([id, ...profile.resolved.extends].map((d) => [d, readFileSync(set.files.get(d)!, 'utf8')]));
    matrices.set(id, JSON.parse(JSON.stringify(buildMatrix(set, id, runTests(set, new Set([id])), headers))) as Matrix);
  }
  return matrices.get(id) as Matrix;
};

describe('the unobservable lists of profile headers', () => {
  it('reads entries by clause, continuation lines joined, until the header ends', () => {
    const text = [
      '# A profile.',
      '#',
      '# Requirements an AS cannot observe, recorded instead of as rules',
      '# (with the reason):',
      '#   §5.2.1-3  follow BCP 195: an audit of the TLS stack,',
      '#             not a request.',
      '#   §5.2.2.1-3 / §5.3.3.1-7 use of aliases by the client: not a fact.',
      '#   §5.3.2.2 Note 4: state may be long.',
      '#   §AS-4      cache jwks for 20 minutes: a cache policy.',
      '#   DPoP:      not defined here.',
      '#   UK OB DCR v3.3 §Software Statement: trusted issuers are published.',
      '# Another section, not part of the list:',
      '#   §9.9-9  not an entry.',
      'id: x',
      '#   §8.8-8  after the header: not an entry either.',
    ].join('\n');
    expect(unobservableClauses(text).map((u) => [u.line, u.clause, u.text])).toEqual([
      [5, '§5.2.1-3', 'follow BCP 195: an audit of the TLS stack, not a request.'],
      [7, '§5.2.2.1-3 / §5.3.3.1-7', 'use of aliases by the client: not a fact.'],
      [8, '§5.3.2.2 Note 4', 'state may be long.'],
      [9, '§AS-4', 'cache jwks for 20 minutes: a cache policy.'],
      [10, 'DPoP', 'not defined here.'],
      [11, 'UK OB DCR v3.3 §Software Statement', 'trusted issuers are published.'],
    ]);
  });

  it('finds the lists of every shipped profile header', () => {
    const count = (file: string) => unobservableClauses(readFileSync(join('profiles', file), 'utf8')).length;
    expect(count('fapi1-baseline.yaml')).toBeGreaterThan(20);
    expect(count('fapi2-security.yaml')).toBeGreaterThan(20);
    for (const id of OVERLAYS.filter((o) => o !== 'acme-bank')) expect(count(`ecosystems/${id}.yaml`), id).toBeGreaterThan(3);
    expect(count('examples/acme-bank.yaml')).toBe(1);
  });
});

describe('fapi-policy matrix', () => {
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(matrixSchema);

  it.each(OVERLAYS)('%s: the JSON follows schemas/matrix.schema.json and puts every rule and header clause of the chain on a row', async (id) => {
    const m = await matrixOf(id);
    expect(validate(m), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const profile = set.get(id)!;
    const chain = [...profile.resolved.extends].reverse().concat(id);
    expect(m.documents.map((d) => d.id)).toEqual(chain);
    const onRows = new Set(m.rows.flatMap((r) => r.rules.filter((x) => !x.waived).map((x) => x.id)));
    expect([...onRows].sort()).toEqual(profile.rules.map((r) => r.id).sort());
    for (const rule of m.rows.flatMap((r) => r.rules.filter((x) => !x.waived))) {
      expect(rule.passing.length, `${id} ${rule.id} passing`).toBeGreaterThan(0);
      expect(rule.failing.length, `${id} ${rule.id} failing`).toBeGreaterThan(0);
    }
    const waived = m.waivers.filter((w) => w.rule).map((w) => w.rule);
    expect(m.rows.flatMap((r) => r.rules.filter((x) => x.waived).map((x) => x.id)).sort()).toEqual(waived.sort());
    for (const doc of chain) {
      const header = unobservableClauses(readFileSync(set.files.get(doc)!, 'utf8'));
      expect(m.rows.filter((r) => r.document === doc && r.status === 'unobservable').map((r) => r.line)).toEqual(expect.arrayContaining(header.map((u) => u.line)));
    }
    expect(m.summary.clauses).toBe(m.rows.length);
  });

  it('prints the same JSON from the command line', async () => {
    const r = await cli('matrix', 'au-cdr', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual(await matrixOf('au-cdr'));
  });

  it('cites unobservable clauses with their document and shows the waivers of the chain with their reasons', async () => {
    const cdr = await matrixOf('au-cdr');
    expect(cdr.rows).toContainEqual(expect.objectContaining({ document: 'au-cdr', clause: 'CDS v1.36 §Refresh Token-3', status: 'unobservable' }));
    expect(cdr.rows).toContainEqual(expect.objectContaining({ document: 'fapi1-baseline', clause: 'FAPI 1.0 Part 1 §5.2.2-11', status: 'unobservable' }));
    const tokens = cdr.rows.find((r) => r.clause === 'CDS v1.36 §Access Token-2')!;
    expect(tokens.rules[0]).toMatchObject({ id: 'AUCDR-Tokens-3', settings: [{ setting: 'lifetimes.access_token_min', value: 120 }, { setting: 'lifetimes.access_token', value: 600 }] });
    expect(tokens.rules[0]!.failing.map((v) => v.name)).toContain('a 700 s access token, allowed by FAPI 1.0 Advanced, is refused');
    const pkce = cdr.rows.find((r) => r.clause === 'FAPI 1.0 Part 1 §5.2.2-7')!;
    expect(pkce.status).toBe('waived');
    expect(pkce.rules.every((r) => r.waived?.by === 'fapi1-advanced')).toBe(true);
    expect(pkce.waivers).toContainEqual(expect.objectContaining({ by: 'fapi1-advanced', setting: 'pkce.required', from: true, to: false }));
    const inherited = cdr.rows.find((r) => r.clause === 'FAPI 1.0 Part 1 §5.2.2-13')!.rules[0]!;
    expect(inherited.covered_by).toBe('fapi1-baseline');
  });

  it('writes Markdown with one table line per row, and refuses an unknown format', async () => {
    const m = await matrixOf('ksa');
    const md = await cli('matrix', 'ksa');
    expect(md.code).toBe(0);
    const tableLines = md.out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| clause |'));
    expect(tableLines).toHaveLength(m.rows.length);
    expect(md.out).toMatch(/^\| KSA API Security §1-6 \| enforced \| KSA-SEC-6 \(error; par\)<br>KSA-SEC-6-endpoint \(error; request_object\) \| request_object\.required = true<br>/m);
    expect(md.out).toMatch(/^\| FAPI 2\.0 SP §5\.2\.1-3 \| unobservable \|/m);
    const bad = await cli('matrix', 'ksa', '--format', 'xml');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--format, one of: md, html, json/);
  });
});

describe('the HTML matrix in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each(['au-cdr', 'connectid-au'])('%s: one self-contained page with every clause row, fetching nothing', async (id) => {
    const file = join(tempDir('fapi-matrix-'), `${id}.html`);
    const written = await cli('matrix', id, '--format', 'html', '-o', file);
    expect(written.code, written.err).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<(script|link|img|iframe)\b|src=|url\(/i);
    const m = await matrixOf(id);
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      expect(await page.title()).toContain(id);
      const rows = await page.$$eval('tr[data-clause]', (trs) => trs.map((tr) => [tr.getAttribute('data-document'), tr.getAttribute('data-clause'), tr.getAttribute('data-status')]));
      expect(rows).toEqual(m.rows.map((r) => [r.document, r.clause, r.status]));
      const sections = await page.$$eval('section[data-document] h2', (hs) => hs.map((h) => h.textContent ?? ''));
      expect(sections.map((s) => s.split(' ')[0])).toEqual(m.documents.map((d) => d.id));
      const firstCells = await page.$$eval('tr[data-clause] td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
      for (const [i, r] of m.rows.entries()) expect(firstCells[i]).toContain(r.clause);
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
