/**
 * Writing answers with node:http alone, so an endpoint runs the same behind the lean front (the
 * back-channel endpoints) and behind Express (pages, registration, discovery). Headers set
 * earlier with setHeader (HSTS, DPoP-Nonce, Cache-Control) are kept: writeHead merges them.
 */
import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  sendText(res, status, JSON.stringify(body), contentType);
}

/** A body that is already text in its media type (a JWT answer, RFC 9701 §5). */
export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/** A redirect; 303 by default (FAPI 2.0 SP §5.3.2.2-11; never 307, §5.3.2.2-10). */
export function sendRedirect(res: ServerResponse, location: string, status = 303): void {
  res.writeHead(status, { Location: location, 'Content-Length': 0 });
  res.end();
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}

/** A cookie only this server reads back: Secure, HttpOnly, SameSite=Lax, bound to one path. */
export function setCookie(res: ServerResponse, name: string, value: string, path: string, maxAgeSeconds: number): void {
  res.setHeader('Set-Cookie', `${name}=${value}; Path=${path}; Max-Age=${maxAgeSeconds}; Secure; HttpOnly; SameSite=Lax`);
}
