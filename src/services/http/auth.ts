import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Caller, LOCAL_ADMIN } from '../../catalog/access.ts';
import { accountsExist, authenticate } from '../../catalog/accounts.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { HttpError } from './errors.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export const isLoopbackAddress = (address: string | undefined) =>
  address !== undefined && LOOPBACK.test(address);

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || LOOPBACK.test(host);
}

/** The bearer token of a request: the Authorization header, or `access_token` for EventSource and links. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (h !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) throw new HttpError(401, 'unauthenticated', 'Authorization must be "Bearer <token>"');
    return m[1];
  }
  const q = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof q === 'string' ? q : undefined;
}

/**
 * Who is calling. A token must be valid (a wrong one is an error, not anonymous access). Without
 * one: anonymous once accounts exist; before any account exists, a loopback caller is the local
 * operator (admin) — binding beyond loopback without accounts is refused at start-up.
 */
export class Authenticator {
  private known: { value: boolean; at: number } | undefined;
  constructor(private readonly catalog: Catalog) {}

  /** Cached for a second: adding the first user takes effect almost at once, without a query per request. */
  private async accounts(): Promise<boolean> {
    const now = Date.now();
    if (!this.known || now - this.known.at > 1000)
      this.known = { value: await accountsExist(this.catalog), at: now };
    return this.known.value;
  }

  async caller(request: FastifyRequest): Promise<Caller> {
    const token = tokenOf(request);
    if (token !== undefined) {
      const c = await authenticate(this.catalog, token);
      if (!c) throw new HttpError(401, 'unauthenticated', 'unknown, revoked or expired token');
      return c;
    }
    if (!(await this.accounts()) && isLoopbackAddress(request.socket.remoteAddress)) return LOCAL_ADMIN;
    return ANONYMOUS;
  }
}
