/**
 * The token endpoint: authenticate the client, check a DPoP proof (before any code is used up, so
 * a nonce retry can still redeem it), redeem the grant (authorization code, refresh token or
 * client credentials), let the client's profile judge the request (`token` stage), then mint.
 * A code presented a second time ends its grant: the tokens issued from it stop working
 * (RFC 6749 §4.1.2).
 */
import type { RegisteredClient } from '../clients.js';
import type { AsContext } from '../context.js';
import { endpoint, enforce, type Exchange } from '../exchange.js';
import { readForm, type Params } from '../http.js';
import { sendJson } from '../respond.js';
import { bindingCertificateFacts } from '../facts/certificate.js';
import { tokenResponseFacts } from '../facts/responses.js';
import { codeFacts, tokenFacts, type Redeemed as RedeemedFacts, type SenderConstraint } from '../facts/token.js';
import type { CodeRecord } from '../steps/authorization-response.js';
import { authenticateClient } from '../steps/authenticate-client.js';
import { checkDpopProof, type Proof } from '../steps/dpop.js';
import { findRefreshToken, grantActive, IMPLEMENTED_GRANT_TYPES, mintTokens, type TokenBasis } from '../steps/tokens.js';
import { OAuthError } from '../errors.js';
import { printable } from '../../engine/text.js';

export function tokenEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'token', 'api', async (x: Exchange) => {
    const form = await readForm(x.req);
    const client = await authenticateClient(x, form, 'token');
    const pending = form.grant_type === 'authorization_code' && form.code ? await x.ctx.store.get<CodeRecord>('code', form.code) : undefined;
    const proof = await checkDpopProof(x, { endpoint: 'token', htm: 'POST', htu: ctx.config.urls.token, ...(pending?.dpop_jkt ? { expectedJkt: pending.dpop_jkt } : {}) });
    const binding = senderConstraint(x, proof);
    const redeemed = await redeem(x, form);
    enforce(x, 'token', tokenFacts(x, client, form, redeemed.facts, binding));
    // A grant the profile lets through but this server does not implement (CIBA, say) gets no token.
    if (!IMPLEMENTED_GRANT_TYPES.includes(form.grant_type ?? '')) {
      throw new OAuthError('unsupported_grant_type', `this server does not implement the grant type '${printable(form.grant_type ?? '', 80)}'`);
    }
    const minted = await mintTokens(x, client, redeemed.basis, binding, {
      refreshToken: form.grant_type === 'authorization_code' && (client.metadata.grant_types ?? []).includes('refresh_token'),
      idToken: form.grant_type === 'authorization_code' && redeemed.basis.scope.split(' ').includes('openid'),
    });
    x.res.setHeader('Cache-Control', 'no-store');
    x.res.setHeader('Pragma', 'no-cache');
    // What is about to be sent is the profile's to accept; refused, nothing is recorded or sent.
    enforce(x, 'token_response', tokenResponseFacts(x, client, form.grant_type ?? '', minted));
    await minted.save();
    sendJson(x.res, 200, minted.response);
  });
}

/** The proof of possession presented: a DPoP proof, else the TLS client certificate. */
function senderConstraint(x: Exchange, proof: Proof | undefined): SenderConstraint | undefined {
  if (proof) return { method: 'dpop', dpop_jkt: proof.jkt };
  const cert = bindingCertificateFacts(x);
  return cert.thumbprint ? { method: 'mtls', mtls_thumbprint: cert.thumbprint } : undefined;
}

interface Redeemed {
  facts: RedeemedFacts;
  basis: TokenBasis;
}

async function redeem(x: Exchange, form: Params): Promise<Redeemed> {
  switch (form.grant_type) {
    case 'authorization_code':
      return redeemCode(x, form);
    case 'refresh_token':
      return redeemRefreshToken(x, form);
    default:
      // client_credentials (the client acts for itself); any other grant is refused after the profile is asked.
      return { facts: {}, basis: { scope: form.scope ?? '' } };
  }
}

async function redeemCode(x: Exchange, form: Params): Promise<Redeemed> {
  const consumed = form.code ? await x.ctx.store.consume<CodeRecord>('code', form.code) : undefined;
  if (!consumed) return { facts: {}, basis: { scope: '' } };
  const code = consumed.value;
  if (consumed.replayed) await x.ctx.store.delete('grant', code.grant_id);
  return {
    facts: { code: codeFacts(code, consumed.replayed, form.code_verifier) },
    basis: {
      sub: code.sub, scope: code.scope, grant_id: code.grant_id, auth_time: code.auth_time,
      ...(code.nonce !== undefined ? { nonce: code.nonce } : {}),
      ...(code.acr !== undefined ? { acr: code.acr } : {}),
      ...(code.authorization_details !== undefined ? { authorization_details: code.authorization_details } : {}),
    },
  };
}

/** The refresh token as recorded; whose it is, whether its grant stands and how far its scope goes is the profile's call. */
async function redeemRefreshToken(x: Exchange, form: Params): Promise<Redeemed> {
  const record = form.refresh_token ? await findRefreshToken(x, form.refresh_token) : undefined;
  if (!record) return { facts: {}, basis: { scope: '' } };
  const active = await grantActive(x, record.grant_id);
  return {
    facts: { refresh_token: { client_id: record.client_id, issued_at: record.issued_at, expires_at: record.expires_at, scope: record.scope, active } },
    basis: {
      sub: record.sub, scope: form.scope ?? record.scope, grant_id: record.grant_id,
      ...(record.auth_time !== undefined ? { auth_time: record.auth_time } : {}),
      ...(record.authorization_details !== undefined ? { authorization_details: record.authorization_details } : {}),
    },
  };
}
