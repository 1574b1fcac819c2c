/**
 * The pushed authorization request endpoint (RFC 9126): authenticate the client, check any DPoP
 * proof (which binds the code to its key, RFC 9449 §10), let the profile judge the request, and
 * keep it under a fresh request_uri for the lifetime the profile allows.
 */
import type { AsContext } from '../context.js';
import { endpoint, enforce, type Exchange } from '../exchange.js';
import { readForm } from '../http.js';
import { sendJson } from '../respond.js';
import { parFacts } from '../facts/par.js';
import { authenticateClient } from '../steps/authenticate-client.js';
import { authorizationParams } from '../steps/authorization-params.js';
import { unpackRequestObject, withoutRequest } from '../steps/request-object.js';
import { checkDpopProof } from '../steps/dpop.js';
import { pushRequest } from '../steps/pushed-requests.js';

export function parEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'par', 'api', async (x: Exchange) => {
    // Any method is read: whether PAR takes it is the profile's call (RFC 9126 §2.1, a 405).
    const form = await readForm(x.req, { anyMethod: true });
    const client = await authenticateClient(x, form, 'par');
    const proof = await checkDpopProof(x, { endpoint: 'par', htm: x.req.method ?? '', htu: ctx.config.urls.par });
    const outer = authorizationParams(form);
    // A signed request object is the whole request (RFC 9101 §6.3, RFC 9126 §3).
    const params = typeof outer.request === 'string' ? await unpackRequestObject(x, client, outer.request, 'par', withoutRequest(outer)) : outer;
    const signed = params !== outer;
    enforce(x, 'par', parFacts(x, client, params, form, signed, proof?.jkt));
    const pushed = await pushRequest(x, client, params, signed, proof?.jkt);
    x.res.setHeader('Cache-Control', 'no-store');
    sendJson(x.res, 201, { request_uri: pushed.request_uri, expires_in: pushed.expires_in });
  });
}
