import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './context.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  profiles: { type: 'string', multiple: true, short: 'p' },
};

/** node:util parseArgs with usage errors instead of exceptions of its own. */
export function parse(argv: string[], options: Options) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
