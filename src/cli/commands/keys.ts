import { KeyFileStore } from '../../as/keys.js';
import { DEFAULT_DATA_DIR } from '../../as/options.js';
import { dataDirFrom, integer } from '../server-options.js';
import { parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';

const USAGE = `fapi-policy keys <rotate|list|remove> [options]

The authorization server's signing keys, kept in <data-dir>/keys.json (mode 0600).

  rotate [--alg <alg>]...   make a new active key for every algorithm with one (or only the named
                            ones); the old keys retire: no longer used to sign, still published at
                            jwks_uri so what they signed still verifies
  list                      kid, algorithm, status, creation time and size of every key
  remove <kid>              stop publishing a retired key (remove it once nothing it signed is in use)

  --data-dir <dir>          the server's data directory (env FAPI_POLICY_DATA_DIR; default ./${DEFAULT_DATA_DIR})
  --rsa-bits <n>            modulus size of new RSA keys (default 2048)

A running server picks the change up within two seconds (it watches keys.json) or on SIGHUP.`;

export const keys: Command = {
  name: 'keys',
  summary: 'Rotate, list and remove the authorization server\'s signing keys',
  usage: USAGE,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { 'data-dir': { type: 'string' }, alg: { type: 'string', multiple: true }, 'rsa-bits': { type: 'string' } });
    const [action, ...rest] = positionals;
    const file = new KeyFileStore(dataDirFrom(values, process.env));
    const bits = integer(values['rsa-bits'] as string | undefined, '--rsa-bits', 2048, 8192) ?? 2048;
    switch (action) {
      case 'rotate': {
        if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
        const fresh = file.rotate(bits, values.alg as string[] | undefined);
        if (!fresh.length) throw new UsageError(`no active keys to rotate in ${file.path}; start the server once to create them`);
        for (const k of fresh) io.out(`${k.alg}: new active key ${k.kid}`);
        io.out(`The previous keys are retired and still published; remove them with 'fapi-policy keys remove <kid>' once unused.`);
        return EXIT.ok;
      }
      case 'list': {
        const all = file.list();
        if (values.json) io.out(JSON.stringify(all, null, 2));
        else for (const k of all) io.out(`${k.kid.padEnd(28)} ${k.alg.padEnd(8)} ${k.status.padEnd(8)} ${k.created_at}  ${k.size.kty} ${k.size.bits} bits`);
        return EXIT.ok;
      }
      case 'remove': {
        if (rest.length !== 1) throw new UsageError('keys remove takes one kid');
        file.remove(rest[0] as string);
        io.out(`removed ${rest[0]}`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(action ? `unknown keys action '${action}' (rotate, list, remove)` : 'keys needs an action: rotate, list or remove');
    }
  },
};
