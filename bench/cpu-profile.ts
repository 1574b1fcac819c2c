/**
 * Reading a V8 CPU profile (.cpuprofile, as `node --cpu-prof` or the inspector's Profiler writes
 * it): self time per function, and per area of the server (HTTP, Express, crypto, engine, store,
 * logging, our code), so a profile says where the time goes without opening DevTools.
 */
import { readFileSync } from 'node:fs';
import { fmt } from './measure.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

const OTHER = 'other node/JS';

/** Areas by where the code lives; the first match wins. */
const AREAS: ReadonlyArray<[string, (f: CallFrame) => boolean]> = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['store', (f) => /\/src\/store\/|better-sqlite3/.test(f.url) || f.functionName === 'structuredClone'],
  ['engine evaluate', (f) => /\/src\/(engine|profile)\/|\/dist\/generated\/|\/node_modules\/(ajv|json-logic-js|re2js)\//.test(f.url)],
  ['pino logging', (f) => /\/node_modules\/(pino|sonic-boom|pino-std-serializers|fast-redact|quick-format-unescaped|safe-stable-stringify|on-exit-leak-free|thread-stream)\//.test(f.url)],
  ['crypto (jose, WebCrypto, node:crypto)', (f) => /\/node_modules\/jose\/|node:internal\/crypto\//.test(f.url)],
  // Small helpers both frameworks use (statuses, vary, content-type…) count for their caller.
  ['Express', (f) => /\/node_modules\/(express|router|body-parser|finalhandler|send|serve-static|path-to-regexp|parseurl|proxy-addr)\//.test(f.url)],
  ['oidc-provider/Koa', (f) => /\/node_modules\/(oidc-provider|koa|@koa|koa-compose|cookies|keygrip|raw-body|nanoid|quick-lru|eta)\//.test(f.url)],
  ['our code (src/as, src/crypto)', (f) => /\/src\/(as|crypto)\//.test(f.url)],
  ['HTTP/TLS (node core)', (f) => /^node:(_http|http|https|net|tls|_tls|internal\/(http|streams|stream_base_commons|tls|js_stream_socket|net))/.test(f.url) || f.functionName === 'writev' || f.functionName === 'writeUtf8String' || f.functionName === 'writeBuffer'],
  ['V8 (program)', (f) => f.functionName === '(program)' || f.functionName === '(root)'],
  [OTHER, () => true],
];

/**
 * A native function (no script), or Node's own JavaScript outside HTTP and crypto, belongs to the
 * area of the code that called it: fs.write under pino is logging, structuredClone under the
 * store is the store.
 */
const isNative = (f: CallFrame) => f.url === '' && !f.functionName.startsWith('(');

interface Frames {
  frame(id: number): CallFrame | undefined;
  parent(id: number): number | undefined;
}

function areaOf(frames: Frames, id: number): string {
  let fallback: string | undefined;
  let at: number | undefined = id;
  for (let depth = 0; at !== undefined && depth < 12; depth++, at = frames.parent(at)) {
    const frame = frames.frame(at)!;
    if (isNative(frame)) continue;
    const area = AREAS.find(([, test]) => test(frame))![0];
    if (area !== OTHER) return area;
    fallback ??= area;
  }
  return fallback ?? 'V8 (program)';
}

/** For a native function: the nearest JavaScript caller, as `native ← caller`. */
function nameOf(frames: Frames, id: number): string {
  const frame = frames.frame(id)!;
  if (!isNative(frame)) return frame.functionName || '(anonymous)';
  let at = frames.parent(id);
  while (at !== undefined && isNative(frames.frame(at)!)) at = frames.parent(at);
  return `${frame.functionName} ← ${at !== undefined ? frames.frame(at)!.functionName || '(anonymous)' : '?'}`;
}

function place(frame: CallFrame): string {
  if (!frame.url) return '(native)';
  const url = frame.url.replace(/^file:\/\//, '');
  const at = url.search(/\/(node_modules|src|bench|dist)\//);
  return `${at >= 0 ? url.slice(at + 1).replace(/^dist\//, '') : url}:${frame.lineNumber + 1}`;
}

/** Self time in µs per function and per area; idle time left out of the shares. */
export function selfTimes(profile: CpuProfile): { functions: Array<{ name: string; place: string; area: string; us: number }>; areas: Map<string, number>; busyUs: number } {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const frames: Frames = { frame: (id) => byNode.get(id), parent: (id) => parents.get(id) };
  const perFunction = new Map<string, { name: string; place: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const frame = byNode.get(id);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame) continue;
    const area = areaOf(frames, id);
    if (area === 'idle') continue;
    busyUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = nameOf(frames, id);
    const key = `${name}@${frame.url}:${frame.lineNumber}`;
    const entry = perFunction.get(key) ?? { name, place: place(frame), area, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
  }
  return { functions: [...perFunction.values()].sort((a, b) => b.us - a.us), areas, busyUs };
}

export function printProfile(file: string, title: string, top = 15): void {
  const { functions, areas, busyUs } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const share = (us: number) => `${fmt((us / busyUs) * 100, 1)} %`;
  console.log(`${title}\nbusy (non-idle) samples: ${fmt(busyUs / 1000)} ms\n`);
  console.log(`top ${top} functions by self time`);
  console.log(' # | self % | area                                   | function                                 | where');
  console.log('-- | ------ | -------------------------------------- | ---------------------------------------- | -----');
  functions.slice(0, top).forEach((f, i) => {
    console.log([String(i + 1).padStart(2), share(f.us).padStart(6), f.area.padEnd(38), f.name.slice(0, 40).padEnd(40), f.place].join(' | '));
  });
  console.log('\nself time by area');
  for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1])) console.log(`${share(us).padStart(7)}  ${area}`);
}
