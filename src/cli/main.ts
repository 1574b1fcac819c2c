#!/usr/bin/env node
/** fapi-policy command line: dispatches to one small module per command. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT, UsageError, type Io } from './context.js';
import { printableIo } from './output.js';
import type { Command } from './commands/command.js';
import { check } from './commands/check.js';
import { compile } from './commands/compile.js';
import { diff } from './commands/diff.js';
import { lint } from './commands/lint.js';
import { metadata } from './commands/metadata.js';
import { bundle } from './commands/bundle.js';
import { serve } from './commands/serve.js';
import { start } from './commands/start.js';
import { test } from './commands/test.js';
import { keys } from './commands/keys.js';
import { as } from './commands/as.js';
import { shadow } from './commands/shadow.js';
import { clients } from './commands/clients.js';
import { matrix } from './commands/matrix.js';
import { init } from './commands/init.js';

export const COMMANDS: readonly Command[] = [lint, test, compile, check, diff, matrix, init, metadata, serve, bundle, start, as, keys, clients, shadow];

export function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'fapi-policy: FAPI security profiles as code',
    '',
    'Usage: fapi-policy <command> [options]   (fapi-policy <command> --help for details)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Common options: --profiles <dir> (repeatable; default ./profiles, else the bundled profiles), --json, --help',
    'Exit codes: 0 ok/allow, 1 deny or lint/test failure, 2 usage error or unreadable input.',
  ].join('\n');
}

export async function main(argv: string[], given: Io): Promise<number> {
  const io = printableIo(given);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`unknown command '${name}'\n\n${help()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`fapi-policy ${name}: ${e.message}`);
      return EXIT.usage;
    }
    io.err(`fapi-policy ${name}: ${(e as Error).message}`);
    return EXIT.usage;
  }
}

const processIo: Io = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size > 1024 * 1024 + 1) break;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  },
  stdin: () => process.stdin,
};

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A reader that stops early (`| head`) is not our failure: the command still ends with its own code.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  main(process.argv.slice(2), processIo).then((code) => {
    process.exitCode = code;
  });
}
