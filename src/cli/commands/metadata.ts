import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { json } from '../output.js';

export const metadata: Command = {
  name: 'metadata',
  summary: 'Print the discovery metadata a profile implies for an issuer',
  usage: `fapi-policy metadata <id|file> --issuer <https-url> [--profiles <dir>] [--json]

Derives the RFC 8414 / OpenID Connect Discovery fields the profile's settings imply (algorithms,
client authentication methods, PAR, PKCE, sender constraining, response types and modes, ...).`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { issuer: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('metadata takes exactly one profile id or file');
    const issuer = values.issuer as string | undefined;
    if (!issuer) throw new UsageError('metadata needs --issuer <url>');
    let url: URL;
    try {
      url = new URL(issuer);
    } catch {
      throw new UsageError(`--issuer '${issuer}' is not a URL`);
    }
    if (url.protocol !== 'https:' || url.search || url.hash) throw new UsageError('--issuer must be an https URL without query or fragment (RFC 8414 §2)');
    const { set, ids } = await loadFor(profileDirs(values.profiles as string[] | undefined), positionals);
    const profile = requireProfile(set, ids[0] as string);
    io.out(json(profile.metadata(issuer), !values.json));
    return EXIT.ok;
  },
};
