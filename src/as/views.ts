/**
 * The server's HTML: the login-and-consent page and the error page. Everything shown comes from
 * clients or requests, so every value is escaped, the page loads nothing but an https logo, and
 * the headers forbid framing, scripts and cross-site form posts.
 */
import type { ServerResponse } from 'node:http';
import { sendHtml } from './respond.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Headers of every page: no caching, no framing, no script, forms only to ourselves — and to the
 * one client origin a form's answer redirects to (browsers apply form-action to redirects too).
 */
export function sendPage(res: ServerResponse, status: number, html: string, formTarget?: string, scriptSource?: string): void {
  const target = formTarget ? ` ${originOf(formTarget)}` : '';
  const script = scriptSource ? `; script-src ${scriptSource}` : '';
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', `default-src 'none'; img-src https:; style-src 'unsafe-inline'; form-action 'self'${target}; frame-ancestors 'none'; base-uri 'none'${script}`);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  sendHtml(res, status, html);
}

function originOf(url: string): string {
  try {
    const { origin } = new URL(url);
    return /^https?:\/\/[A-Za-z0-9.[\]:-]+$/.test(origin) ? origin : '';
  } catch {
    return '';
  }
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.client{display:flex;gap:1rem;align-items:center}.client img{max-width:64px;max-height:64px}
ul{padding-left:1.2rem}pre{background:#f4f4f4;padding:.6rem;overflow:auto;font-size:.85rem}
label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}
.actions{display:flex;gap:1rem;margin-top:1.2rem}button{padding:.5rem 1.2rem;font-size:1rem}.error{color:#a00}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export interface ConsentView {
  action: string;
  csrf: string;
  clientName: string;
  clientId: string;
  logoUri?: string;
  scopes: string[];
  authorizationDetails?: unknown;
  error?: string;
  username?: string;
}

export function consentPage(v: ConsentView): string {
  const logo = v.logoUri && /^https:\/\//i.test(v.logoUri) ? `<img src="${escapeHtml(v.logoUri)}" alt="">` : '';
  const scopes = v.scopes.length ? `<ul id="scopes">${v.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>` : '<p>No scopes.</p>';
  const details = v.authorizationDetails === undefined ? '' : `<h2>Details of the access</h2><pre id="authorization-details">${escapeHtml(JSON.stringify(v.authorizationDetails, null, 2))}</pre>`;
  return layout('Sign in and authorize', `
<div class="client">${logo}<h1><span id="client-name">${escapeHtml(v.clientName)}</span> asks for access</h1></div>
<p>Client id: <code>${escapeHtml(v.clientId)}</code></p>
<h2>It asks for</h2>${scopes}${details}
<form method="post" action="${escapeHtml(v.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(v.csrf)}">
${v.error ? `<p class="error" id="error">${escapeHtml(v.error)}</p>` : ''}
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" value="${escapeHtml(v.username ?? '')}">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password">
<div class="actions"><button type="submit" name="action" value="approve" id="approve">Sign in and approve</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button></div>
</form>`);
}

export function errorPage(error: string, description: string): string {
  return layout('Authorization error', `<h1>The authorization request cannot be served</h1>
<p>Error: <code id="error-code">${escapeHtml(error)}</code></p><p id="error-description">${escapeHtml(description)}</p>
<p>The client that sent you here has not been told; return to it and try again.</p>`);
}
