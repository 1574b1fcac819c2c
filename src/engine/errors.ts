/**
 * Raised while a compiled rule reads its facts. Both make the rule fail (fail closed);
 * they exist so the violation can say *which* fact was missing or malformed.
 */
export class MissingFactError extends Error {
  override name = 'MissingFactError';
  constructor(readonly pointer: string) {
    super(`missing fact ${pointer || '/'}`);
  }
}

export class MalformedFactError extends Error {
  override name = 'MalformedFactError';
  constructor(message: string, readonly pointer?: string) {
    super(message);
  }
}

/** A json-logic expression that cannot be compiled; `pointer` locates the node inside the expression. */
export class LogicCompileError extends Error {
  override name = 'LogicCompileError';
  constructor(message: string, readonly pointer: string) {
    super(message);
  }
}
