import { createHash, randomBytes } from 'node:crypto';
import { type Caller, ROLES, type Role } from './access.ts';
import type { Catalog } from './catalog.ts';

/**
 * Users and API tokens. A token is 32 random bytes shown once; the catalog keeps only its SHA-256
 * (a token has full entropy, so a fast hash is enough — nothing to brute-force) and a short prefix
 * so people can tell their tokens apart.
 */

export class AccountError extends Error {
  override name = 'AccountError';
}

export interface User {
  name: string;
  roles: Role[];
  groups: string[];
  createdAt: string;
}

export interface TokenInfo {
  id: number;
  user: string;
  label: string | null;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const TOKEN_PREFIX = 'flk_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function checkRoles(roles: readonly string[]): Role[] {
  for (const r of roles)
    if (!(ROLES as readonly string[]).includes(r))
      throw new AccountError(`unknown role ${JSON.stringify(r)} (roles: ${ROLES.join(', ')})`);
  return [...new Set(roles)] as Role[];
}

function checkName(kind: string, name: string): void {
  if (!NAME.test(name))
    throw new AccountError(
      `${kind} name ${JSON.stringify(name)}: use up to 64 letters, digits, '.', '_', '@', '-'`,
    );
}

/** Creates a user or, when it exists, replaces its roles and groups. */
export async function saveUser(
  cat: Catalog,
  name: string,
  roles: readonly string[],
  groups: readonly string[] = [],
): Promise<User> {
  checkName('user', name);
  for (const g of groups) checkName('group', g);
  const r = checkRoles(roles.length ? roles : ['reader']);
  const createdAt = new Date().toISOString();
  await cat.db
    .insertInto('users')
    .values({ name, roles: JSON.stringify(r), groups: JSON.stringify([...groups]), created_at: createdAt })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({ roles: JSON.stringify(r), groups: JSON.stringify([...groups]) }),
    )
    .execute();
  return (await getUser(cat, name)) as User;
}

export async function getUser(cat: Catalog, name: string): Promise<User | undefined> {
  const row = await cat.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  return (
    row && {
      name: row.name,
      roles: JSON.parse(row.roles),
      groups: JSON.parse(row.groups),
      createdAt: row.created_at,
    }
  );
}

export async function listUsers(cat: Catalog): Promise<User[]> {
  const rows = await cat.db.selectFrom('users').selectAll().orderBy('name').execute();
  return rows.map((row) => ({
    name: row.name,
    roles: JSON.parse(row.roles),
    groups: JSON.parse(row.groups),
    createdAt: row.created_at,
  }));
}

export async function deleteUser(cat: Catalog, name: string): Promise<boolean> {
  await cat.db.deleteFrom('tokens').where('user_name', '=', name).execute();
  const r = await cat.db.deleteFrom('users').where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** True when any account exists (then anonymous callers see public data only, even on loopback). */
export async function accountsExist(cat: Catalog): Promise<boolean> {
  return (await cat.db.selectFrom('users').select('name').limit(1).executeTakeFirst()) !== undefined;
}

/** Creates a token for a user; returns the token itself, which is never stored or shown again. */
export async function createToken(
  cat: Catalog,
  user: string,
  opts: { label?: string; expiresInDays?: number } = {},
): Promise<{ token: string; info: TokenInfo }> {
  if (!(await getUser(cat, user)))
    throw new AccountError(`no user ${user} (create it with \`fitslake user add\`)`);
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const now = new Date();
  const r = await cat.db
    .insertInto('tokens')
    .values({
      user_name: user,
      label: opts.label ?? null,
      hash: hashToken(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      created_at: now.toISOString(),
      expires_at:
        opts.expiresInDays !== undefined
          ? new Date(now.getTime() + opts.expiresInDays * 86400000).toISOString()
          : null,
      revoked_at: null,
      last_used_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const info = (await listTokens(cat)).find((t) => t.id === Number(r.id)) as TokenInfo;
  return { token, info };
}

export async function listTokens(cat: Catalog, user?: string): Promise<TokenInfo[]> {
  let q = cat.db.selectFrom('tokens').selectAll().orderBy('id');
  if (user !== undefined) q = q.where('user_name', '=', user);
  return (await q.execute()).map((t) => ({
    id: Number(t.id),
    user: t.user_name,
    label: t.label,
    prefix: t.prefix,
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    revokedAt: t.revoked_at,
    lastUsedAt: t.last_used_at,
  }));
}

/** Revokes by id or by the token's prefix; returns how many were revoked. */
export async function revokeToken(cat: Catalog, idOrPrefix: string): Promise<number> {
  const ts = new Date().toISOString();
  let q = cat.db.updateTable('tokens').set({ revoked_at: ts }).where('revoked_at', 'is', null);
  q = /^\d+$/.test(idOrPrefix) ? q.where('id', '=', Number(idOrPrefix)) : q.where('prefix', '=', idOrPrefix);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The caller a token stands for, or undefined when it is unknown, revoked or expired. */
export async function authenticate(cat: Catalog, token: string): Promise<Caller | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await cat.db
    .selectFrom('tokens')
    .innerJoin('users', 'users.name', 'tokens.user_name')
    .select([
      'tokens.id',
      'tokens.expires_at',
      'tokens.revoked_at',
      'tokens.last_used_at',
      'users.name',
      'users.roles',
      'users.groups',
    ])
    .where('tokens.hash', '=', hashToken(token))
    .executeTakeFirst();
  const now = new Date().toISOString();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return undefined;
  // last_used_at to the minute: a write per request would serialise readers on SQLite.
  if (!row.last_used_at || row.last_used_at.slice(0, 16) !== now.slice(0, 16))
    await cat.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  return { user: row.name, roles: JSON.parse(row.roles), groups: JSON.parse(row.groups) };
}
