/**
 * Client authentication at a back-channel endpoint (PAR, token, introspection, revocation): find
 * the client the request names, observe how it authenticated — a JWT assertion verified with its
 * registered keys under the profile's algorithms, or its TLS certificate checked as RFC 8705
 * says — and let the client's profile decide (`client_auth` stage), then the connection (`tls`).
 */
import type { JWK } from 'jose';
import { issuedByTrustedCa, keyInJwks, matchesRegisteredName } from '../../crypto/certificate.js';
import { decodeJwt, isMacAlgorithm, JwtFormatError, type DecodedJwt } from '../../crypto/jws.js';
import { adoptClient, clientKeys, findClient, type RegisteredClient } from '../clients.js';
import { invalidClient } from '../errors.js';
import { enforce, type Exchange } from '../exchange.js';
import type { Params } from '../http.js';
import { clientAuthFacts, type CertificateCheck, type ClientAuthEndpoint, type ClientAuthMethod } from '../facts/client-auth.js';
import { presentedCertificate } from '../facts/certificate.js';
import { jwtFacts, type JwtFacts } from '../facts/jwt.js';
import { checkTls } from './tls.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The parameters of client authentication: never part of the authorization request itself. */
export const CLIENT_AUTH_PARAMS: ReadonlySet<string> = new Set(['client_assertion', 'client_assertion_type', 'client_secret']);

const TLS_METHODS: ReadonlySet<string> = new Set(['tls_client_auth', 'self_signed_tls_client_auth']);

const ASSERTION_REPLAY_WINDOW_MAX = 366 * 86_400;

export async function authenticateClient(x: Exchange, form: Params, endpoint: ClientAuthEndpoint): Promise<RegisteredClient> {
  const assertion = readAssertion(form);
  const clientId = claimedClientId(form, assertion);
  const client = await findClient(x, clientId);
  if (!client) throw invalidClient(`unknown client '${clientId.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}'`);
  adoptClient(x, client);
  const method = methodOf(x, client, form, assertion);
  const jwt = assertion ? await assertionFacts(x, client, form.client_assertion as string, assertion) : undefined;
  const certificate = await certificateCheck(x, client, method);
  enforce(x, 'client_auth', clientAuthFacts(x, client, endpoint, method, form.client_id, jwt, certificate));
  checkTls(x, 'api', endpoint);
  return client;
}

function readAssertion(form: Params): DecodedJwt | undefined {
  if (form.client_assertion === undefined) {
    if (form.client_assertion_type !== undefined) throw invalidClient('client_assertion_type was sent without a client_assertion');
    return undefined;
  }
  if (form.client_assertion_type !== JWT_BEARER) throw invalidClient(`client_assertion_type must be ${JWT_BEARER} (RFC 7523 section 2.2)`);
  try {
    return decodeJwt(form.client_assertion);
  } catch (e) {
    if (e instanceof JwtFormatError) throw invalidClient(`client_assertion: ${e.message}`);
    throw e;
  }
}

/** The client the request names: the assertion's issuer (RFC 7523 §3), else the client_id parameter. */
function claimedClientId(form: Params, assertion: DecodedJwt | undefined): string {
  const fromJwt = assertion && (typeof assertion.claims.iss === 'string' ? assertion.claims.iss : typeof assertion.claims.sub === 'string' ? assertion.claims.sub : undefined);
  const id = fromJwt ?? form.client_id;
  if (!id) throw invalidClient('the request does not identify a client: send client_id, or authenticate with a client assertion');
  return id;
}

/**
 * The method the request used, as observed: a JWT assertion (HMAC-signed ones are
 * client_secret_jwt), a client secret, or — for a client registered for a TLS method — its
 * certificate; anything else is an unauthenticated ('none') request for the profile to judge.
 */
function methodOf(x: Exchange, client: RegisteredClient, form: Params, assertion: DecodedJwt | undefined): ClientAuthMethod {
  if (assertion) return isMacAlgorithm(assertion.header.alg) ? 'client_secret_jwt' : 'private_key_jwt';
  if (form.client_secret !== undefined) return 'client_secret_post';
  if (/^basic /i.test(x.req.headers.authorization ?? '')) return 'client_secret_basic';
  const registered = client.metadata.token_endpoint_auth_method;
  return registered && TLS_METHODS.has(registered) ? (registered as ClientAuthMethod) : 'none';
}

async function assertionFacts(x: Exchange, client: RegisteredClient, compact: string, decoded: DecodedJwt): Promise<JwtFacts> {
  const algorithms = (x.profile.settings.signing_algs as { client_auth: string[] }).client_auth;
  const verified = await x.ctx.verifier.verify(compact, decoded.header, clientKeys(client) as JWK[], algorithms);
  const jti = decoded.claims.jti;
  if (!verified || typeof jti !== 'string') return jwtFacts(decoded, verified);
  // RFC 7523 §3 item 7: a jti is accepted once per client, remembered until the assertion expires
  // (the profile refuses it from exp on; one without exp is refused anyway). Beyond a year the
  // remembered window is cut: such an assertion is the client's own weakness, not a store's burden.
  const exp = typeof decoded.claims.exp === 'number' && Number.isFinite(decoded.claims.exp) ? decoded.claims.exp : x.now;
  const ttl = Math.min(Math.max(Math.ceil(exp - x.now), 0) + 1, ASSERTION_REPLAY_WINDOW_MAX);
  const fresh = await x.ctx.store.add('jti', `${client.client_id}:${jti.slice(0, 512)}`, 1, ttl);
  return jwtFacts(decoded, verified, !fresh);
}

async function certificateCheck(x: Exchange, client: RegisteredClient, method: ClientAuthMethod): Promise<CertificateCheck> {
  const presented = presentedCertificate(x);
  if (!presented) return { presented: false };
  const cert = presented.certificate;
  if (!cert) return { presented: true, verified: false, matches_registration: false };
  if (method === 'tls_client_auth') {
    return {
      presented: true,
      thumbprint: cert.thumbprint,
      verified: issuedByTrustedCa(cert.x509, presented.chain, x.ctx.clientCas, new Date(x.now * 1000)),
      matches_registration: matchesRegisteredName(cert, client.metadata),
    };
  }
  if (method === 'self_signed_tls_client_auth') {
    const registered = await keyInJwks(cert, { keys: clientKeys(client) });
    return { presented: true, thumbprint: cert.thumbprint, verified: registered, matches_registration: registered };
  }
  return { presented: true, thumbprint: cert.thumbprint };
}
