/**
 * The authorization request parameters as the facts carry them: strings as received, except
 * RFC 9396 authorization_details, which is JSON and is parsed here (a malformed value is the
 * invalid_authorization_details error of RFC 9396 §5).
 */
import { OAuthError } from '../errors.js';
import { CLIENT_AUTH_PARAMS } from './authenticate-client.js';

export function authorizationParams(form: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(form)) if (!CLIENT_AUTH_PARAMS.has(name)) params[name] = value;
  if (typeof params.authorization_details === 'string') params.authorization_details = parseDetails(params.authorization_details);
  else if (params.authorization_details !== undefined) checkDetails(params.authorization_details);
  return params;
}

function parseDetails(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OAuthError('invalid_authorization_details', 'authorization_details is not valid JSON (RFC 9396 section 2)');
  }
  return checkDetails(value);
}

function checkDetails(value: unknown): unknown {
  if (!Array.isArray(value) || !value.every((d) => d !== null && typeof d === 'object' && !Array.isArray(d) && typeof (d as { type?: unknown }).type === 'string')) {
    throw new OAuthError('invalid_authorization_details', 'authorization_details must be a JSON array of objects, each with a type (RFC 9396 section 2)');
  }
  return value;
}
