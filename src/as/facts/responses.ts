/**
 * Facts of the response stages: what the server is about to send, read from what it built and
 * from the headers already set on the response. Credentials (codes, tokens) are never facts; their
 * presence and properties are.
 */
import { clientFacts, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { IssuedIdToken } from '../steps/id-token.js';
import type { Minted } from '../steps/tokens.js';

function header(x: Exchange, name: string): Record<string, string> {
  const value = x.res.getHeader(name);
  return value === undefined ? {} : { [name]: String(value).slice(0, 2048) };
}

/** What the server signed in an authorization response: a hybrid ID token, a JARM response JWT. */
export interface SignedParts {
  idToken?: IssuedIdToken;
  responseJwtHeader?: Record<string, unknown>;
}

/**
 * `params` are the response's parameters and `iss` the issuer it states (for JARM, inside the
 * response JWT); `names` the parameter names actually sent.
 */
export function authorizationResponseFacts(x: Exchange, status: number, mode: string, params: Readonly<Record<string, string>>, names: readonly string[], signed: SignedParts = {}): Record<string, unknown> {
  return {
    time: x.now,
    issuer: x.ctx.config.issuer,
    ...(x.client ? { client: clientFacts(x.client) } : {}),
    status,
    response_mode: mode,
    parameters: [...names],
    ...(params.iss !== undefined ? { iss: params.iss } : {}),
    ...(params.error !== undefined ? { error: params.error } : {}),
    ...idTokenFacts(signed.idToken),
    ...(signed.responseJwtHeader ? { response_jwt: { header: signed.responseJwtHeader } } : {}),
    headers: { ...header(x, 'strict-transport-security'), ...header(x, 'access-control-allow-origin') },
  };
}

const idTokenFacts = (idToken: IssuedIdToken | undefined): Record<string, unknown> => (idToken ? { id_token: idToken.facts } : {});

export function tokenResponseFacts(x: Exchange, client: RegisteredClient, grantType: string, minted: Minted): Record<string, unknown> {
  const { response, cnf } = minted;
  return {
    time: x.now,
    issuer: x.ctx.config.issuer,
    client: clientFacts(client),
    grant_type: grantType,
    token_type: response.token_type,
    expires_in: response.expires_in,
    ...(cnf ? { cnf } : {}),
    refresh_token: { issued: response.refresh_token !== undefined, rotated: grantType === 'refresh_token' && response.refresh_token !== undefined },
    ...idTokenFacts(minted.idToken),
    headers: { ...header(x, 'cache-control'), ...header(x, 'pragma') },
  };
}
