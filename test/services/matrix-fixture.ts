// The lake the access-control matrix and the hardening tests run against: real FITS files written by
// the sample-night generator, ingested (with previews) by the real worker, in four access cases —
//   open       public collection `pubsky`, out of embargo
//   embargoed  the same public collection, public_date in the future, owner owen, group g-own
//   priv       private collection `vaultx`
//   team       collection `teamx` shared with group g-team
// plus a failed (corrupt) file in pubsky and one in vaultx, and users of every role with tokens
// (one revoked, one expired).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, revokeToken, saveUser } from '../../src/catalog/accounts.ts';
import { writeSampleNight } from '../../src/demo/sample-night.ts';
import { queueIngest } from '../../src/ingest/sources.ts';
import { Worker } from '../../src/ingest/worker.ts';
import type { Lake } from '../../src/lake/lake.ts';
import { tempLake } from '../util/server.ts';

export const MATRIX_CONFIG = `
collections:
  pubsky: { visibility: public }
  vaultx: { visibility: private }
  teamx: { visibility: shared, groups: [g-team] }
`;

export const CASES = ['open', 'embargoed', 'priv', 'team'] as const;
export type Case = (typeof CASES)[number];

/** Callers with a working token (anonymous has none). */
export const USERS = {
  rita: { roles: ['reader'], groups: [] }, // reader, no groups
  tess: { roles: ['reader'], groups: ['g-team'] }, // reader in g-team
  owen: { roles: ['reader'], groups: [] }, // owner of the embargoed observation
  gina: { roles: ['reader'], groups: ['g-own'] }, // member of the embargoed observation's group
  ulla: { roles: ['uploader'], groups: [] },
  cora: { roles: ['curator'], groups: [] },
  root: { roles: ['admin'], groups: [] },
} as const;
export type UserName = keyof typeof USERS;
export type CallerName = 'anon' | UserName | 'revoked' | 'expired' | 'garbage';
export const CALLERS: CallerName[] = [
  'anon',
  ...(Object.keys(USERS) as UserName[]),
  'revoked',
  'expired',
  'garbage',
];
export const BAD_TOKENS: CallerName[] = ['revoked', 'expired', 'garbage'];

/** Who sees which case: THE rule, written out by hand as the oracle. */
export const SEES: Record<Case, readonly CallerName[]> = {
  open: ['anon', 'rita', 'tess', 'owen', 'gina', 'ulla', 'cora', 'root'],
  embargoed: ['owen', 'gina', 'root'],
  priv: ['root'],
  team: ['tess', 'root'],
};
export const sees = (caller: CallerName, c: Case) => SEES[c].includes(caller);

export const COLLECTION: Record<Case, string> = {
  open: 'pubsky',
  embargoed: 'pubsky',
  priv: 'vaultx',
  team: 'teamx',
};

export interface CaseData {
  case: Case;
  collection: string;
  /** The observation's catalog id. */
  id: number;
  obsId: string;
  instrument: string | null;
  target: string | null;
  /** The science file (bzip2'd FITS) in the raw zone. */
  scienceKey: string;
  /** Its small FITS copy (uncompressed: header and Range tests). */
  smallKey: string;
  /** fitslake's rendered preview of the science file, in the previews zone. */
  previewKey: string;
  /** Every raw and previews key of the observation. */
  rawKeys: string[];
  previewKeys: string[];
  /** Strings that must never reach a caller who may not see this case. */
  secrets: string[];
}

export interface MatrixLake {
  lake: Lake;
  cases: Record<Case, CaseData>;
  /** Failed files: pubsky (visible to curators) and vaultx (admins only). */
  broken: { pub: string; priv: string };
  tokens: Record<Exclude<CallerName, 'anon'>, string>;
  headers(caller: CallerName): Record<string, string>;
}

/** One exposure group (science, small, preview, thumbnail, header dump) of one instrument. */
async function exposureGroup(
  lake: Lake,
  collection: string,
  instrument: string,
  night: string,
  seed: number,
): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-matrix-'));
  const files = await writeSampleNight(dir, { exposures: 1, size: 48, seed, night });
  const keys: string[] = [];
  for (const f of files) {
    if (!f.path.startsWith(`${instrument}/`) || !/-ex10/.test(f.path)) continue;
    const key = `${collection}/${f.path}`;
    await lake.zones.raw.put(key, readFileSync(join(dir, f.path)));
    keys.push(key);
  }
  if (keys.length !== 5) throw new Error(`expected 5 files of ${instrument}, got ${keys.length}`);
  return keys;
}

export async function matrixLake(): Promise<MatrixLake> {
  const lake = await tempLake(MATRIX_CONFIG);
  const groups: Record<Case, string[]> = {
    open: await exposureGroup(lake, 'pubsky', 'kb001ms', '2022-06-29', 11),
    embargoed: await exposureGroup(lake, 'pubsky', 'fa002ms', '2022-06-29', 11),
    priv: await exposureGroup(lake, 'vaultx', 'ep003ms', '2022-07-02', 12),
    team: await exposureGroup(lake, 'teamx', 'kb001ms', '2022-07-05', 13),
  };
  const broken = { pub: 'pubsky/zz-broken-pub.fits', priv: 'vaultx/zz-broken-vaultx.fits' };
  for (const key of Object.values(broken))
    await lake.zones.raw.put(key, new TextEncoder().encode('SIMPLE  = not a FITS file'));
  await queueIngest(lake, [...Object.values(groups).flat(), ...Object.values(broken)]);
  await new Worker(lake).run({ untilIdle: true, concurrency: 2 });

  const db = lake.catalog.db;
  const cases = {} as Record<Case, CaseData>;
  for (const c of CASES) {
    const scienceKey = groups[c].find((k) => k.endsWith('.fits.bz2')) as string;
    const smallKey = groups[c].find((k) => k.endsWith('-small.fits')) as string;
    const file = await db
      .selectFrom('files')
      .innerJoin('artifacts', 'artifacts.file_id', 'files.id')
      .innerJoin('observations', 'observations.id', 'artifacts.observation_id')
      .select(['observations.id', 'obs_id', 'instrument_name', 'target_name'])
      .where('files.key', '=', scienceKey)
      .where('files.zone', '=', 'raw')
      .executeTakeFirstOrThrow();
    const previews = await db
      .selectFrom('files')
      .innerJoin('artifacts', 'artifacts.file_id', 'files.id')
      .select(['files.key', 'files.collection', 'artifacts.role'])
      .where('files.zone', '=', 'previews')
      .where('artifacts.observation_id', '=', file.id)
      .execute();
    const previewKey = `${scienceKey}.preview.jpg`;
    if (!previews.some((p) => p.key === previewKey && p.role === 'auto-preview'))
      throw new Error(`no auto-preview ${previewKey} linked to ${file.obs_id}`);
    if (previews.some((p) => p.collection !== COLLECTION[c]))
      throw new Error(`a preview of ${file.obs_id} is not catalogued in ${COLLECTION[c]}`);
    cases[c] = {
      case: c,
      collection: COLLECTION[c],
      id: Number(file.id),
      obsId: file.obs_id,
      instrument: file.instrument_name,
      target: file.target_name,
      scienceKey,
      smallKey,
      previewKey,
      rawKeys: groups[c],
      previewKeys: previews.map((p) => p.key),
      secrets: [file.obs_id],
    };
  }
  // The embargo: in the future, owned by owen, group g-own.
  await db
    .updateTable('observations')
    .set({ public_date: '2999-01-01T00:00:00.000Z', owner: 'owen', group_name: 'g-own' })
    .where('id', '=', cases.embargoed.id)
    .execute();
  // The out-of-embargo one has a public date in the past (judged, not absent).
  await db
    .updateTable('observations')
    .set({ public_date: '2020-01-01T00:00:00.000Z', owner: 'owen', group_name: 'g-own' })
    .where('id', '=', cases.open.id)
    .execute();
  // Strings unique to a hidden case: its instrument (the open one shares none with it) and the
  // collection names of the private and shared collections.
  cases.embargoed.secrets.push('fa002ms');
  cases.priv.secrets.push('ep003ms', 'vaultx');
  cases.team.secrets.push('teamx');

  const tokens = {} as MatrixLake['tokens'];
  for (const [name, u] of Object.entries(USERS) as [UserName, (typeof USERS)[UserName]][]) {
    await saveUser(lake.catalog, name, [...u.roles], [...u.groups]);
    tokens[name] = (await createToken(lake.catalog, name)).token;
  }
  await saveUser(lake.catalog, 'vera', ['admin']);
  const revoked = await createToken(lake.catalog, 'vera');
  await revokeToken(lake.catalog, String(revoked.info.id));
  tokens.revoked = revoked.token;
  const expired = await createToken(lake.catalog, 'vera', { expiresInDays: 1 });
  await db
    .updateTable('tokens')
    .set({ expires_at: '2001-01-01T00:00:00.000Z' })
    .where('id', '=', expired.info.id)
    .execute();
  tokens.expired = expired.token;
  tokens.garbage = 'flk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  return {
    lake,
    cases,
    broken,
    tokens,
    headers: (caller): Record<string, string> =>
      caller === 'anon' ? {} : { authorization: `Bearer ${tokens[caller]}` },
  };
}
