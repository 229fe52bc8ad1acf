// A populated lake for the REST tests: two generated nights ingested by the real worker (the public
// collection `night` and the private collection `vault`, owned by ada), users of every role with
// tokens, one embargoed observation (owner ada, group team), and a corrupt file that fails.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSampleNight } from '../../../src/demo/sample-night.ts';
import { queueIngest } from '../../../src/ingest/sources.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import type { Lake } from '../../../src/lake/lake.ts';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../../src/services/http/server.ts';
import { type RunningServer, startServer, tempLake, usersWithTokens } from '../../util/server.ts';

export const CONFIG = `
collections:
  night: { visibility: public }
  vault: { visibility: private, owner: ada }
`;

export const USERS = {
  ada: ['reader'], // owns the embargoed observation and the private collection
  bob: ['reader'], // in group team: sees the embargoed observation, not the private collection
  cy: ['reader'], // sees public data only
  cur: ['curator'],
  root: ['admin'],
} as const;
export type UserName = keyof typeof USERS;
export const GROUPS: Partial<Record<UserName, string[]>> = { bob: ['team'] };

export interface Fixture {
  lake: Lake;
  srv: RunningServer;
  tokens: Record<UserName, string>;
  /** The embargoed observation's id. */
  embargoed: number;
  /** Request headers for a user (none: anonymous). */
  auth(user?: UserName): Record<string, string>;
  /** GET a path as a user; the parsed JSON and the status. */
  get<T = unknown>(path: string, user?: UserName): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

async function copyNight(lake: Lake, collection: string, seed: number, exposures: number, night: string) {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-rest-night-'));
  const files = await writeSampleNight(dir, { exposures, size: 64, seed, night });
  const keys: string[] = [];
  for (const f of files) {
    const key = `${collection}/${f.path}`;
    await lake.zones.raw.put(key, readFileSync(join(dir, f.path)));
    keys.push(key);
  }
  return keys;
}

export async function populatedLake(
  plugins: ((app: FastifyInstance, ctx: ServerContext) => Promise<void>)[],
): Promise<Fixture> {
  const lake = await tempLake(CONFIG);
  const keys = [
    ...(await copyNight(lake, 'night', 5, 4, '2022-06-29')),
    ...(await copyNight(lake, 'vault', 6, 1, '2022-07-02')),
  ];
  await lake.zones.raw.put('night/zz-broken.fits', new TextEncoder().encode('SIMPLE  = not a FITS file'));
  keys.push('night/zz-broken.fits');
  await queueIngest(lake, keys);
  await new Worker(lake).run({ untilIdle: true, concurrency: 2 });

  const db = lake.catalog.db;
  // One science exposure under embargo until 2100, owned by ada and shared with group team.
  const science = await db
    .selectFrom('observations')
    .select('id')
    .where('obs_collection', '=', 'night')
    .where('obs_type', '=', 'EXPOSE')
    .orderBy('t_min')
    .executeTakeFirstOrThrow();
  const embargoed = Number(science.id);
  await db
    .updateTable('observations')
    .set({ public_date: '2100-01-01T00:00:00.000Z', owner: 'ada', group_name: 'team' })
    .where('id', '=', embargoed)
    .execute();
  // Keyset edge cases: two observations sharing one t_min, two without any time.
  const calib = await db
    .selectFrom('observations')
    .select(['id', 't_min'])
    .where('obs_collection', '=', 'night')
    .where('obs_type', '!=', 'EXPOSE')
    .orderBy('id')
    .execute();
  await db
    .updateTable('observations')
    .set({ t_min: calib[1].t_min, t_max: calib[1].t_min })
    .where('id', '=', calib[4].id)
    .execute();
  await db
    .updateTable('observations')
    .set({ t_min: null, t_max: null })
    .where('id', 'in', [calib[6].id, calib[7].id])
    .execute();

  const tokens = (await usersWithTokens(lake.catalog, USERS, GROUPS)) as Record<UserName, string>;
  // Users exist before the server starts: a request without a token is anonymous from the first.
  const srv = await startServer(lake, { plugins, rateLimit: 0 });
  const auth = (user?: UserName): Record<string, string> =>
    user ? { authorization: `Bearer ${tokens[user]}` } : {};
  return {
    lake,
    srv,
    tokens,
    embargoed,
    auth,
    async get<T>(path: string, user?: UserName) {
      const r = await fetch(`${srv.url}${path}`, { headers: auth(user) });
      return { status: r.status, body: (await r.json()) as T };
    },
    async close() {
      await srv.close();
      await lake.close();
    },
  };
}
