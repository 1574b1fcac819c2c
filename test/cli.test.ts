import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../src/cli/main.js';
import { FIXTURES } from './helpers.js';

/** Runs the CLI in-process and captures what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), readStdin: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const BIN = join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'fapi-policy-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const writeJson = (name: string, value: unknown) => {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
};

describe('fapi-policy CLI', () => {
  it('prints help for the program and for every command', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.out).toContain(c.name);
      const r = await cli(c.name, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^fapi-policy ${c.name}`));
    }
  });

  it('exits 2 on usage errors', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('lint')).code).toBe(2);
    expect((await cli('check', '--profile', 'fapi2-security', '--stage', 'nowhere', 'x.json')).err).toMatch(/--stage, one of: discovery/);
    expect((await cli('compile', 'no-such-profile')).err).toMatch(/unknown profile 'no-such-profile' \(known: .*fapi2-security/);
    expect((await cli('metadata', 'fapi2-security')).code).toBe(2);
    expect((await cli('metadata', 'fapi2-security', '--issuer', 'http://as.example')).err).toMatch(/https URL/);
    expect((await cli('lint', '--bogus', 'profiles')).code).toBe(2);
  });

  it('lints the shipped profiles clean', async () => {
    const r = await cli('lint', 'profiles');
    expect(r.out).toMatch(/^0 error\(s\), 0 warning\(s\)/m);
    expect(r.code).toBe(0);
  });

  it('fails lint on a loosening overlay with file:line:col and both values', async () => {
    const r = await cli('lint', join(FIXTURES, 'overlays', 'loose-fapi2.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/loose-fapi2\.yaml:8:\d+: settings\.lifetimes\.authorization_code: loose-fapi2 loosens fapi2-security: 60 -> 300; a maximum may only fall/);
    expect(r.out).toMatch(/loose-fapi2\.yaml:9:\d+: settings\.signing_algs\.client_auth: .*"RS256"\]; an allow-list may only lose members/);
  });

  it('reports each lint error on one line, file:line:col first, whatever the message holds', async () => {
    const file = join(tmp, 'broken.yaml');
    writeFileSync(file, [
      'id: broken', 'title: Broken', 'version: "1"', 'spec: https://example.com', 'extends: fapi2-security',
      'settings:', '  lifetimes.access_token: {value: 7200}',
      'waive:', '  - {rule: "NO\\nSUCH", reason: "because\\nreasons"}',
      'rules:', '  - {id: B-1, clause: "B §1", stage: par, severity: error, message: m, check: {logic: {method: [1, 2]}}}', '',
    ].join('\n'));
    const r = await cli('lint', file);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    const errors = lines.filter((l) => !/^(waiver|note): |^\d+ error\(s\)/.test(l));
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const line of errors) expect(line).toMatch(/^\/.*broken\.yaml:\d+:\d+: \S/);
    expect(errors.join('\n')).toMatch(/broken\.yaml:9:\d+: waived rule 'NO SUCH' is not a rule of fapi2-security$/m);
  });

  it('passes lint on the waived overlay and reports its waivers', async () => {
    const r = await cli('lint', join(FIXTURES, 'overlays', 'waived-fapi2.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/waiver: waived-fapi2 settings\.lifetimes\.authorization_code: 60 -> 300: A legacy consent journey/);
    expect(r.out).toMatch(/waiver: waived-fapi2 settings\.signing_algs\.client_auth: \[PS256, ES256, EdDSA, Ed25519\] -> \[PS256, ES256, EdDSA, Ed25519, RS256\]: Two hardware/);
    const diff = await cli('diff', 'fapi2-security', join(FIXTURES, 'overlays', 'waived-fapi2.yaml'));
    expect(diff.out).toMatch(/looser +lifetimes\.authorization_code +60 -> 300/);
    expect(diff.out).toMatch(/Waivers:\n.*settings\.lifetimes\.authorization_code/);
  });

  it('runs every vector of the shipped profiles', async () => {
    const r = await cli('test', 'profiles');
    expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.out).not.toMatch(/^(FAIL|GAP)/m);
    expect(r.code).toBe(0);
  });

  it('tests an overlay kept outside ./profiles against its base from --profiles, and only that overlay', async () => {
    const dir = mkdtempSync(join(tmp, 'outside-'));
    const overlay = join(dir, 'short-tokens.yaml');
    writeFileSync(overlay, 'id: short-tokens\ntitle: Short tokens\nversion: "1"\nspec: https://example.org/short\nextends: fapi2-security\nsettings:\n  lifetimes.access_token: {value: 300}\n');
    writeFileSync(join(dir, 'short-tokens.tests.yaml'), 'profile: short-tokens\nvectors:\n  - name: TLS 1.1\n    stage: tls\n    facts: {time: 1767225600, protocol: TLSv1.1, cipher: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, endpoint_kind: api, endpoint: token}\n    expect: deny\n    violations: [FAPI2-SP-FINAL-5.2.1-2]\n');
    const r = await cli('test', overlay, '--profiles', 'profiles/fapi2-security.yaml', '--allow-gaps');
    expect(r.out, r.out + r.err).toMatch(/^short-tokens: 1 vector\(s\)/m);
    expect(r.out).not.toMatch(/^fapi2-security: /m);
    expect(r.out).toMatch(/^1 passed, 0 failed$/m);
  });

  it('compiles a profile to its effective JSON', async () => {
    const r = await cli('compile', 'fapi2-message-signing', '--json');
    const p = JSON.parse(r.out);
    expect(p).toMatchObject({ id: 'fapi2-message-signing', extends: ['fapi2-security'] });
    expect(p.digest).toMatch(/^sha256:/);
    expect(p.rules.some((x: { id: string; from: string }) => x.id.startsWith('FAPI2-SP-FINAL') && x.from === 'fapi2-security')).toBe(true);
    expect(p.settings.request_object.required).toBe(true);
  });

  it('diffs FAPI 1.0 Advanced against FAPI 2.0', async () => {
    const r = await cli('diff', 'fapi1-advanced', 'fapi2-security');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^  (tighter|looser) +par\.required +false -> true/m);
    expect(r.out).toMatch(/^  added +FAPI2-SP-FINAL-/m);
    expect(r.out).toMatch(/^  removed +FAPI1-ADV-/m);
  });

  it('derives metadata for an issuer', async () => {
    const r = await cli('metadata', 'fapi2-security', '--issuer', 'https://as.example', '--json');
    const m = JSON.parse(r.out);
    expect(m).toMatchObject({ issuer: 'https://as.example', require_pushed_authorization_requests: true, code_challenge_methods_supported: ['S256'], response_types_supported: ['code'], authorization_response_iss_parameter_supported: true });
  });

  it('checks facts: exit 0 on allow, 1 on deny, 2 on unreadable input', async () => {
    const compiled = JSON.parse((await cli('compile', 'fapi2-security', '--json')).out);
    expect(compiled.id).toBe('fapi2-security');
    const facts = { time: 1767225600, issuer: 'https://as.example', endpoint: 'token', method: 'client_secret_basic' };
    const deny = await cli('check', '--profile', 'fapi2-security', '--stage', 'client_auth', writeJson('deny.json', facts), '--json');
    expect(deny.code).toBe(1);
    const decision = JSON.parse(deny.out);
    expect(decision).toMatchObject({ decision: 'deny', stage: 'client_auth', profile: { id: 'fapi2-security' } });
    expect(decision.violations.length).toBeGreaterThan(0);
    const human = await cli('check', '--profile', 'fapi2-security', '--stage', 'client_auth', writeJson('deny2.json', facts), '--explain');
    expect(human.out).toMatch(/^DENY +fapi2-security/);
    expect(human.out).toMatch(/^  - FAPI2-SP-FINAL-\S+ (passed|failed|not_applicable|missing_fact)/m);
    const bad = writeJson('bad.json', 0);
    writeFileSync(bad, '{not json');
    expect((await cli('check', '--profile', 'fapi2-security', '--stage', 'par', bad)).code).toBe(2);
    expect((await cli('check', '--profile', 'fapi2-security', '--stage', 'par', join(tmp, 'absent.json'))).code).toBe(2);
  });

  it('keeps its exit code and prints no stack trace when its reader stops early (| head)', () => {
    // A 200 KB report into a reader that takes ten bytes and exits, as a user's shell pipeline would.
    const script = `"${process.execPath}" "${BIN}" test profiles --json | head -c 10 > /dev/null; echo "exit=\${PIPESTATUS[0]}"`;
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
    expect(run.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(run.stdout.trim()).toBe('exit=0');
  });

  it('works as the installed binary, reading facts from stdin', () => {
    const run = (input: string) => spawnSync(process.execPath, [BIN, 'check', '--profile', 'fapi2-security', '--stage', 'tls', '-', '--json'], { input, encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
    const allow = run(JSON.stringify({ protocol: 'TLSv1.3', endpoint_kind: 'api', cipher: 'TLS_AES_128_GCM_SHA256' }));
    expect(JSON.parse(allow.stdout).decision).toBe('allow');
    expect(allow.status).toBe(0);
    const deny = run(JSON.stringify({ protocol: 'TLSv1.1', endpoint_kind: 'api', cipher: 'TLS_RSA_WITH_AES_128_CBC_SHA' }));
    expect(JSON.parse(deny.stdout).decision).toBe('deny');
    expect(deny.status).toBe(1);
    const garbage = run('{');
    expect(garbage.status).toBe(2);
    expect(garbage.stderr).toMatch(/not valid JSON/);
  });

  it('start (what npm start runs) serves the authorization server and the decision service and lists the loaded profiles', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fapi-start-'));
    const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--pdp-port', '0', '--data-dir', dataDir, '--no-watch', '--decision-log', 'off', '--log', 'off', '--shadow-profile', 'fapi2-message-signing'], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const [issuer, url] = await new Promise<[string, string]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`start did not report its URLs: ${out}`)), 30_000);
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const as = /Authorization server: (https:\/\/localhost:\d+)/.exec(out);
          const pdp = /Decision service: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (as && pdp) {
            clearTimeout(timer);
            resolve([as[1]!, pdp[1]!]);
          }
        });
      });
      expect(out).toMatch(/fapi2-security +1\.0-final +\d+ rules +sha256:/);
      const { Agent, fetch: tlsFetch } = await import('undici');
      const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8') } });
      const discovery = await tlsFetch(`${issuer}/.well-known/openid-configuration`, { dispatcher: agent });
      expect(discovery.status).toBe(200);
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(issuer);
      // Shadow mode is on; its counters are on the authorization server's /metrics.
      expect(out).toContain('shadow profile fapi2-message-signing (report only, GET /metrics)');
      const metrics = await tlsFetch(`${issuer}/metrics`, { dispatcher: agent });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# TYPE fapi_policy_as_shadow_violations_total counter$/m);
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      const decide = await fetch(`${url}/v1/decide`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ profile: 'fapi2-security', stage: 'tls', facts: { protocol: 'TLSv1.1', endpoint_kind: 'api', cipher: 'TLS_RSA_WITH_AES_128_CBC_SHA' } }),
      });
      expect(((await decide.json()) as { decision: string }).decision).toBe('deny');
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('serve: loopback detection for the no-authentication warning', () => {
  it('counts loopback addresses only, not names that look like one', async () => {
    const { isLoopback } = await import('../src/net/loopback.js');
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost']) expect(isLoopback(host)).toBe(true);
    for (const host of ['127.example.com', '0.0.0.0', '::', '10.0.0.1', '128.0.0.1']) expect(isLoopback(host)).toBe(false);
  });
});
