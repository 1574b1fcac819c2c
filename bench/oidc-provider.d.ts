/**
 * The part of oidc-provider 9's API the benchmark uses (the package ships no types). Contexts are
 * Koa contexts with the provider's `oidc` member; only the members the auto-login reads are named.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface Grant {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  export interface Session {
    accountId?: string;
    loginAccount(details: { accountId: string; transient?: boolean }): void;
    ensureClientContainer(clientId: string): void;
    grantIdFor(clientId: string, grantId: string): void;
  }

  export interface OidcContext {
    readonly client: { clientId: string };
    readonly session: Session;
    readonly requestParamOIDCScopes: Set<string>;
    readonly provider: Provider;
    entity(name: 'Grant' | 'Account', value: unknown): void;
  }

  export interface KoaContextWithOIDC {
    oidc: OidcContext;
  }

  export interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly Grant: new (properties: { accountId: string; clientId: string }) => Grant;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }

  export const interactionPolicy: {
    Prompt: new (options: { name: string; requestable: boolean }, ...checks: unknown[]) => unknown;
    Check: new (reason: string, description: string, check: (ctx: KoaContextWithOIDC) => Promise<boolean>) => unknown;
  };

  export default Provider;
}
