import {
  collectionAllowed,
  hasRole,
  type ObservationAccessRow,
  observationVisible,
  type Role,
  type Visibility,
} from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';

/**
 * Who may see which event. Events name what they are about (an observation, a file, a raw key, a
 * collection); the event is shown only when everything it names passes THE access rule of
 * catalog/access.ts for the caller, judged against the catalog as it is now:
 *
 * - `file.ingested`, `ingest.failed`, `preview.ready`: the file rule (its collection is visible and
 *   every observation it belongs to is) and the observation named in the payload. An uploader sees
 *   why their own upload failed; nobody learns the key of an embargoed file.
 * - `observation.created`, `observation.completed`: the observation rule (collection, embargo).
 * - `job.failed`: queue internals (job ids, retries) for operators: role curator or above, and the
 *   job's file, key or collection must pass the rule as well.
 * - `object.deleted`, `object.expired`: the collection of the key; the links to observations are
 *   gone once an object is removed, so its embargo cannot be judged: curator or above, unless the
 *   payload still names a file or observation to judge.
 * - Any other kind: the collection, observation and file its payload names (`collection`,
 *   `observationId`, `fileId`).
 * - An event naming an observation or file that no longer exists, or naming nothing at all, is for
 *   admins only (fail closed). Admins see every event.
 */

export interface LakeEvent {
  id: number;
  kind: string;
  /** created_at, ISO 8601. */
  time: string;
  payload: Record<string, unknown>;
}

/** The documented kinds (others may appear; they are filtered by what their payload names). */
export const EVENT_KINDS = [
  'file.ingested',
  'ingest.failed',
  'observation.created',
  'observation.completed',
  'preview.ready',
  'job.failed',
  'object.deleted',
  'object.expired',
] as const;

/** What one event is about, resolved against the catalog once per batch for every client. */
export interface Subject {
  /** Collections that must be visible (from the payload, the key or the file row). */
  collections: (string | null)[];
  /** Observations that must be visible. */
  observations: ObservationAccessRow[];
  /** Least role needed besides the data rule. */
  role?: Role;
  /** Names something that is gone, or nothing: admins only. */
  adminOnly: boolean;
  /** The event's collection, for `?collection=` (null when unknown). */
  collection: string | null;
}

export type EventRow = { id: number | bigint; kind: string; payload: string; created_at: string };

export function toEvent(row: EventRow): LakeEvent {
  let payload: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(row.payload) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      payload = parsed as Record<string, unknown>;
  } catch {
    // A payload that is not JSON names nothing: the event stays admins-only (see subjectOf).
  }
  return { id: Number(row.id), kind: row.kind, time: row.created_at, payload };
}

const num = (x: unknown) => (typeof x === 'number' && Number.isSafeInteger(x) ? x : undefined);
const str = (x: unknown) => (typeof x === 'string' && x.length > 0 ? x : undefined);

/** The collection of a raw-zone key: its first folder (as the worker's splitKey decides). */
function keyCollection(key: string, fallback: string): string {
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash) : fallback;
}

/** What an event's payload names, before looking anything up. */
interface Reference {
  collection?: string;
  observationId?: number;
  fileId?: number;
  /** A raw key whose current file is looked up (job payloads name keys, not files). */
  rawKey?: string;
  role?: Role;
}

function referenceOf(e: LakeEvent, defaultCollection: string): Reference {
  const p = e.payload;
  if (e.kind === 'job.failed') {
    const inner = (p.payload && typeof p.payload === 'object' ? p.payload : {}) as Record<string, unknown>;
    const key = str(inner.key);
    const collection =
      str(inner.collection) ?? (key !== undefined ? keyCollection(key, defaultCollection) : undefined);
    const ref: Reference = { role: 'curator' };
    if (collection !== undefined) ref.collection = collection;
    if (num(inner.fileId) !== undefined) ref.fileId = num(inner.fileId);
    if (key !== undefined) ref.rawKey = key;
    return ref;
  }
  const ref: Reference = {};
  const key = str(p.key);
  const collection =
    str(p.collection) ??
    (key !== undefined && (e.kind === 'object.deleted' || e.kind === 'object.expired') && p.zone === 'raw'
      ? keyCollection(key, defaultCollection)
      : undefined);
  if (collection !== undefined) ref.collection = collection;
  if (num(p.observationId) !== undefined) ref.observationId = num(p.observationId);
  if (num(p.fileId) !== undefined) ref.fileId = num(p.fileId);
  if ((e.kind === 'object.deleted' || e.kind === 'object.expired') && !ref.fileId && !ref.observationId)
    ref.role = 'curator';
  return ref;
}

const CHUNK = 500;
function chunks<T>(values: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += CHUNK) out.push(values.slice(i, i + CHUNK));
  return out;
}

type AccessRow = ObservationAccessRow & { id: number };

/**
 * Resolves what a batch of events is about with at most four queries (files of raw keys, files,
 * their observations, observations), however many events and however many clients.
 */
export async function resolveSubjects(
  cat: Catalog,
  events: LakeEvent[],
  defaultCollection: string,
): Promise<Map<number, Subject>> {
  const refs = new Map(events.map((e) => [e.id, referenceOf(e, defaultCollection)]));
  const db = cat.db;

  const rawKeys = [...new Set([...refs.values()].flatMap((r) => (r.rawKey && !r.fileId ? [r.rawKey] : [])))];
  const fileOfKey = new Map<string, number>();
  for (const part of chunks(rawKeys))
    for (const r of await db
      .selectFrom('files')
      .select(['id', 'key'])
      .where('zone', '=', 'raw')
      .where('current', '=', 1)
      .where('key', 'in', part)
      .execute())
      fileOfKey.set(r.key, Number(r.id));
  for (const r of refs.values())
    if (r.rawKey && !r.fileId && fileOfKey.has(r.rawKey)) r.fileId = fileOfKey.get(r.rawKey);

  const fileIds = [...new Set([...refs.values()].flatMap((r) => (r.fileId ? [r.fileId] : [])))];
  const files = new Map<number, { collection: string | null; observations: ObservationAccessRow[] }>();
  for (const part of chunks(fileIds)) {
    for (const f of await db
      .selectFrom('files')
      .select(['id', 'collection'])
      .where('id', 'in', part)
      .execute())
      files.set(Number(f.id), { collection: f.collection, observations: [] });
    const links = await db
      .selectFrom('artifacts')
      .innerJoin('observations', 'observations.id', 'artifacts.observation_id')
      .select(['artifacts.file_id', 'obs_collection', 'public_date', 'owner', 'group_name'])
      .where('artifacts.file_id', 'in', part)
      .execute();
    for (const l of links) files.get(Number(l.file_id))?.observations.push(l);
  }

  const obsIds = [...new Set([...refs.values()].flatMap((r) => (r.observationId ? [r.observationId] : [])))];
  const observations = new Map<number, AccessRow>();
  for (const part of chunks(obsIds))
    for (const o of await db
      .selectFrom('observations')
      .select(['id', 'obs_collection', 'public_date', 'owner', 'group_name'])
      .where('id', 'in', part)
      .execute())
      observations.set(Number(o.id), { ...o, id: Number(o.id) });

  const out = new Map<number, Subject>();
  for (const [id, r] of refs) {
    const s: Subject = {
      collections: [],
      observations: [],
      adminOnly: false,
      collection: r.collection ?? null,
    };
    if (r.role) s.role = r.role;
    if (r.collection !== undefined) s.collections.push(r.collection);
    if (r.observationId !== undefined) {
      const o = observations.get(r.observationId);
      if (o) {
        s.observations.push(o);
        s.collection ??= o.obs_collection;
      } else s.adminOnly = true;
    }
    if (r.fileId !== undefined) {
      const f = files.get(r.fileId);
      if (f) {
        s.collections.push(f.collection);
        s.observations.push(...f.observations);
        s.collection ??= f.collection;
      } else s.adminOnly = true;
    }
    if (!s.collections.length && !s.observations.length) s.adminOnly = true;
    out.set(id, s);
  }
  return out;
}

/** Whether a caller may see an event whose subject was resolved by resolveSubjects. */
export function subjectVisible(v: Visibility, s: Subject | undefined): boolean {
  if (v.all) return true;
  if (!s || s.adminOnly) return false;
  if (s.role && !hasRole(v.caller, s.role)) return false;
  return (
    s.collections.every((c) => collectionAllowed(v, c)) &&
    s.observations.every((o) => observationVisible(v, o))
  );
}
