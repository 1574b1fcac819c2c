/** Removing a registry guard or swap listener removes that one only, however often it is called. */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/registry/create.js';

const fresh = () => createRegistry({ profiles: ['profiles'], watch: false, checkSeconds: 0, pollSeconds: 0 }, pino({ level: 'silent' }));
const registries = [fresh(), fresh()];
afterAll(() => Promise.all(registries.map((r) => r.close())));

describe('registry guards and listeners', () => {
  it('keeps the other guard when one remover is called twice', async () => {
    const registry = registries[0]!;
    await registry.start();
    const off = registry.addGuard(() => []);
    registry.addGuard(() => ['refused by the second guard']);
    off();
    off();
    const report = await registry.reload({ force: true, reason: 'test' });
    expect(report.ok).toBe(false);
    expect(report.errors.join('\n')).toContain('refused by the second guard');
  });

  it('keeps the other swap listener when one remover is called twice', async () => {
    const registry = registries[1]!;
    await registry.start();
    const seen: string[] = [];
    const off = registry.onSwap(() => seen.push('first'));
    registry.onSwap(() => seen.push('second'));
    off();
    off();
    const report = await registry.reload({ force: true, reason: 'test' });
    expect(report.swapped).toBe(true);
    expect(seen).toEqual(['second']);
  });
});
