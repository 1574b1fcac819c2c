/**
 * GET /metrics: the server's counters (metrics.ts) in the Prometheus text format. They name
 * clients and the rules their requests would break, so they are not public: the caller presents
 * one of the metrics tokens (`--metrics-token-file`), or, when none is configured, connects from
 * a loopback address. Behind a TLS-terminating proxy (`--trust-proxy-cert-header`) every caller
 * seems to come from the proxy, so there only a token opens them.
 */
import type { IncomingMessage } from 'node:http';
import { CONTENT_TYPE } from '../../log/prometheus.js';
import { isLoopback } from '../../net/loopback.js';
import type { AsContext } from '../context.js';
import { OAuthError, sendOAuthError } from '../errors.js';
import type { Handler } from '../exchange.js';
import { bearerToken, isOneOf } from '../http.js';

export function metricsEndpoint(ctx: AsContext): Handler {
  return (req, res) => {
    const refusal = refusalOf(ctx, req);
    if (refusal) {
      sendOAuthError(res, refusal);
      return;
    }
    const body = ctx.metrics.render();
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  };
}

function refusalOf(ctx: AsContext, req: IncomingMessage): OAuthError | undefined {
  const tokens = ctx.config.metricsTokens;
  if (tokens.length) {
    if (isOneOf(bearerToken(req), tokens)) return undefined;
    return new OAuthError('invalid_token', 'metrics need a metrics token (Authorization: Bearer)', 401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (!ctx.config.trustProxyCertHeader && isLoopback(peer)) return undefined;
  return new OAuthError('access_denied', 'metrics are served to loopback callers only unless a metrics token is configured (--metrics-token-file)', 403);
}
