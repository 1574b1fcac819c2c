import { isIPv4 } from 'node:net';

/**
 * Whether a listen address reaches this host only. Addresses, not names that merely start like
 * one (`127.example.com`), count; `localhost` is taken at its word.
 */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}
