import { type Expression, type SqlBool, sql } from 'kysely';
import { fileRule, observationRule } from './access-rule.ts';
import type { Catalog } from './catalog.ts';

/**
 * Who may see what — one rule for every path that returns data or metadata (REST, SQL, TAP, SIA,
 * SODA, STAC, previews, downloads, events, counts).
 *
 * An observation is visible to a caller when its collection is, and it is out of embargo (no
 * public_date, or one in the past) or the caller is its owner or in its group. A collection is
 * public, private (its owner and admins) or shared (with its groups). Admins see everything.
 * A file is visible when its collection is and every observation it belongs to is.
 */

export const ROLES = ['reader', 'uploader', 'curator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  /** null: anonymous. */
  user: string | null;
  roles: readonly Role[];
  groups: readonly string[];
}

export const ANONYMOUS: Caller = Object.freeze({ user: null, roles: [], groups: [] });
/** The local operator (CLI on the lake's own machine, or loopback when no accounts exist). */
export const LOCAL_ADMIN: Caller = Object.freeze({ user: 'local', roles: ['admin'] as Role[], groups: [] });

export class AccessError extends Error {
  override name = 'AccessError';
  /** unauthenticated: no or a bad token; forbidden: known caller, not allowed. */
  readonly code: 'unauthenticated' | 'forbidden';
  constructor(code: AccessError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Roles are ranked: each includes what the ones before it may do. */
export function hasRole(caller: Caller, role: Role): boolean {
  const need = ROLES.indexOf(role);
  return caller.roles.some((r) => ROLES.indexOf(r) >= need);
}

export function requireRole(caller: Caller, role: Role, what: string): void {
  if (hasRole(caller, role)) return;
  throw new AccessError(
    caller.user === null ? 'unauthenticated' : 'forbidden',
    caller.user === null
      ? `${what} needs a token (role ${role} or above)`
      : `${what} needs role ${role} or above (${caller.user} has ${caller.roles.join(', ') || 'none'})`,
  );
}

export interface CollectionAccess {
  name: string;
  visibility: 'public' | 'private' | 'shared';
  groups: readonly string[];
  owner?: string | undefined;
}

export function collectionVisible(caller: Caller, c: CollectionAccess): boolean {
  if (hasRole(caller, 'admin') || c.visibility === 'public') return true;
  if (caller.user !== null && c.owner === caller.user) return true;
  return c.visibility === 'shared' && c.groups.some((g) => caller.groups.includes(g));
}

/** What one caller sees, compiled once per request: every query filters through it. */
export interface Visibility {
  caller: Caller;
  /** Sees everything (admin). */
  all: boolean;
  /** The collections it sees (when not all). */
  collections: string[];
  /** ISO time the embargo is judged at. */
  now: string;
}

/** Reads every collection's access settings (config file ← catalog), for visibilityFor. */
export type CollectionLister = () => Promise<CollectionAccess[]>;

export async function visibilityFor(caller: Caller, list: CollectionLister): Promise<Visibility> {
  const all = hasRole(caller, 'admin');
  const collections = all
    ? []
    : (await list()).filter((c) => collectionVisible(caller, c)).map((c) => c.name);
  return { caller, all, collections, now: new Date().toISOString() };
}

/** Reads collections from the catalog, with settings from the config file under the stored ones. */
export function catalogCollections(
  cat: Catalog,
  fromConfig: Record<string, { visibility?: string; groups?: string[]; owner?: string }> = {},
): CollectionLister {
  return async () => {
    const rows = await cat.db.selectFrom('collections').select(['name', 'visibility', 'settings']).execute();
    const names = new Set(rows.map((r) => r.name));
    const out: CollectionAccess[] = rows.map((r) => {
      const s = { ...fromConfig[r.name], ...(JSON.parse(r.settings) as Record<string, unknown>) } as {
        visibility?: string;
        groups?: string[];
        owner?: string;
      };
      return {
        name: r.name,
        visibility: (s.visibility ?? r.visibility ?? 'public') as CollectionAccess['visibility'],
        groups: s.groups ?? [],
        owner: s.owner,
      };
    });
    // Configured collections with no files yet still have an access rule.
    for (const [name, s] of Object.entries(fromConfig))
      if (!names.has(name))
        out.push({
          name,
          visibility: (s.visibility ?? 'public') as CollectionAccess['visibility'],
          groups: s.groups ?? [],
          owner: s.owner,
        });
    return out;
  };
}

export interface ObservationAccessRow {
  obs_collection: string;
  public_date: string | null;
  owner: string | null;
  group_name: string | null;
}

/** The same rule as observationFilter, for one row in hand (events, detail pages). */
export function observationVisible(v: Visibility, o: ObservationAccessRow): boolean {
  if (v.all) return true;
  if (!v.collections.includes(o.obs_collection)) return false;
  return outOfEmbargo(v, o);
}

function outOfEmbargo(v: Visibility, o: ObservationAccessRow): boolean {
  if (o.public_date === null || o.public_date <= v.now) return true;
  const { user, groups } = v.caller;
  return (user !== null && o.owner === user) || (o.group_name !== null && groups.includes(o.group_name));
}

export function collectionAllowed(v: Visibility, name: string | null): boolean {
  return v.all || (name !== null && v.collections.includes(name));
}

export { fileRule, literal, observationRule } from './access-rule.ts';

/** Kysely filters: `.where(observationFilter(v, 'observations'))`. */
export function observationFilter(v: Visibility, alias = 'observations'): Expression<SqlBool> {
  return sql<SqlBool>`${sql.raw(observationRule(v, alias))}`;
}

export function fileFilter(v: Visibility, alias = 'files'): Expression<SqlBool> {
  return sql<SqlBool>`${sql.raw(fileRule(v, alias))}`;
}
