/**
 * Request bodies for both servers: read whole up to a bound, and never taken while coded. Each
 * server maps the outcome to its own error (the decision service's HttpError, the AS's OAuthError).
 */
import type { IncomingMessage } from 'node:http';

/**
 * The first content or transfer coding of the request that is not decoded here, if any. Node removes
 * `chunked` and nothing else, so a body sent `gzip, chunked` would otherwise be read as if it were plain.
 */
export function undecodedCoding(req: IncomingMessage): string | undefined {
  return [...codingsOf(req.headers['content-encoding']), ...codingsOf(req.headers['transfer-encoding'])].find((c) => c !== 'identity' && c !== 'chunked');
}

const codingsOf = (header: string | undefined) => (header ?? '').split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);

export type BodyProblem = 'too_large' | 'unreadable';

/**
 * Reads the whole body, refusing it as soon as it passes `max` bytes (before, when Content-Length
 * says so). Callback style: the decision service answers in the same tick the body ends.
 */
export function readBody(req: IncomingMessage, max: number, done: (problem: BodyProblem | null, body?: Buffer) => void): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return done('too_large');
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= max) {
      chunks.push(chunk);
      return;
    }
    cleanup();
    // Drain the rest so the connection can answer; nothing more is kept.
    req.resume();
    done('too_large');
  };
  const onEnd = () => {
    cleanup();
    done(null, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  };
  const onError = () => {
    cleanup();
    done('unreadable');
  };
  const cleanup = () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}
