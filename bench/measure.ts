/**
 * What the benchmarks that drive servers share: CPU pinning, a process's CPU time, medians and
 * number formatting.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface Pinning {
  server: string;
  driver: string;
}

/**
 * "On one core": with taskset (Linux) and at least two CPUs, every server runs on the last CPU and
 * the driver on the first, so the load generator never competes with the server it measures.
 */
export function pinning(): Pinning | null {
  const cpus = availableParallelism();
  if (process.platform !== 'linux' || cpus < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  return { server: String(cpus - 1), driver: '0' };
}

/** Pins this process (all its threads) to the driver's CPU. */
export function pinDriver(pin: Pinning | null): void {
  if (pin) spawnSync('taskset', ['-a', '-p', '-c', pin.driver, String(process.pid)], { stdio: 'ignore' });
}

/** The command that runs `node args…` on the server's CPU. */
export function serverCommand(pin: Pinning | null, args: string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', pin.server, process.execPath, ...args]] : [process.execPath, args];
}

/** utime + stime of a process in µs, from /proc (clock ticks are 100 Hz on Linux); NaN elsewhere. */
export function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
