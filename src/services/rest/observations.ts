import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { fileFilter, observationFilter, observationVisible, type Visibility } from '../../catalog/access.ts';
import {
  COUNT_CAP,
  countObservations,
  DEFAULT_LIMIT,
  FACETS,
  type KeywordMatch,
  MAX_KEYWORDS,
  MAX_LIMIT,
  type ObservationQuery,
  type ObservationRow,
  observationFacets,
  ORDERS,
  searchObservations,
} from '../../catalog/search.ts';
import { boxRegion, type Region } from '../../catalog/sky.ts';
import type { Lake } from '../../lake/lake.ts';
import { HttpError } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';

/**
 * Observation search and detail: `GET /api/observations` (filters, sort, keyset cursor, counts),
 * `GET /api/observations/facets` and `GET /api/observations/{id}`. Everything reads through the
 * caller's visibility: rows, counts and facets in SQL (searchObservations' `visibility`), the
 * detail with observationVisible — a hidden observation is 404 exactly like a missing one.
 */

const MJD_UNIX_EPOCH = 40587;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time bound: MJD (a number) or ISO 8601 (UTC unless it carries an offset). A date without a
 * time as `end` means the end of that day, so start=2022-06-29&end=2022-06-29 is the whole day.
 */
export function parseTime(text: string, bound: 'start' | 'end'): number | null {
  const s = text.trim();
  if (/^[-+]?(\d+\.?\d*|\.\d+)$/.test(s)) return Number(s);
  const m = ISO.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 2022-02-30 over into March: a date that does not exist is refused instead.
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  const ms = m[4] ? Date.parse(m[7] ? s : `${s}Z`) : day.getTime();
  if (!Number.isFinite(ms)) return null;
  const mjd = ms / 86400000 + MJD_UNIX_EPOCH;
  return bound === 'end' && !m[4] ? mjd + 1 : mjd;
}

const time = (bound: 'start' | 'end') =>
  z
    .string()
    .describe(
      bound === 'start'
        ? 'earliest time: MJD, or ISO 8601 (UTC unless an offset is given); matches observations ending at or after it'
        : 'latest time: MJD, or ISO 8601; a date alone means the end of that day; matches observations starting at or before it',
    )
    .transform((s, ctx) => {
      const v = parseTime(s, bound);
      if (v === null) {
        ctx.addIssue({
          code: 'custom',
          message: `${bound}: not an MJD or ISO 8601 date: ${JSON.stringify(s)}`,
        });
        return z.NEVER;
      }
      return v;
    });

const num = (what: string) => z.coerce.number({ error: `${what} must be a number` }).finite();

const keyword = z
  .string()
  .max(1100)
  .transform((s, ctx): KeywordMatch => {
    const eq = s.indexOf('=');
    const kw = eq > 0 ? s.slice(0, eq).trim() : '';
    if (!kw) {
      ctx.addIssue({ code: 'custom', message: `kw: use KEYWORD=value (got ${JSON.stringify(s)})` });
      return z.NEVER;
    }
    // Standard FITS keywords are upper case; HIERARCH names keep their spelling.
    return {
      keyword: /^[A-Za-z0-9_-]{1,8}$/.test(kw) ? kw.toUpperCase() : kw,
      value: s.slice(eq + 1).trim(),
    };
  });

/** The filters /api/observations and /facets share. */
const filters = z.object({
  collection: z.string().min(1).max(256).optional().describe('obs_collection, exactly'),
  ra: num('ra').min(0).max(360).optional().describe('cone centre right ascension (ICRS degrees, 0–360)'),
  dec: num('dec').min(-90).max(90).optional().describe('cone centre declination (degrees)'),
  radius: num('radius').min(0).max(90).optional().describe('cone radius (degrees, 0–90)'),
  box: z
    .string()
    .optional()
    .describe(
      'ra,dec,width,height in degrees: the RA range ra±width/2 and the Dec range dec±height/2 (width in degrees of RA)',
    )
    .transform((s, ctx): Region | undefined => {
      if (s === undefined) return undefined;
      const p = s.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
      const [ra, dec, w, h] = p;
      const why =
        p.length !== 4 || !p.every(Number.isFinite)
          ? 'use four numbers ra,dec,width,height'
          : ra < 0 || ra > 360
            ? 'ra must be within 0–360'
            : Math.abs(dec) > 90
              ? 'dec must be within -90–90'
              : !(w > 0 && w < 180) || !(h > 0 && h <= 180)
                ? 'width must be within (0, 180) and height within (0, 180]'
                : null;
      if (why) {
        ctx.addIssue({ code: 'custom', message: `box: ${why} (got ${JSON.stringify(s)})` });
        return z.NEVER;
      }
      return boxRegion(ra - w / 2, ra + w / 2, Math.max(-90, dec - h / 2), Math.min(90, dec + h / 2));
    }),
  start: time('start').optional(),
  end: time('end').optional(),
  instrument: z.string().max(256).optional().describe('instrument_name, exactly'),
  filter: z.string().max(256).optional().describe('filter, exactly'),
  target: z.string().max(256).optional().describe('a case-insensitive substring of target_name'),
  exptime_min: num('exptime_min').min(0).optional().describe('shortest t_exptime (seconds, inclusive)'),
  exptime_max: num('exptime_max').min(0).optional().describe('longest t_exptime (seconds, inclusive)'),
  kw: z
    .union([keyword, z.array(keyword).max(MAX_KEYWORDS)])
    .optional()
    .describe(
      'KEYWORD=value on any FITS header keyword of the observation’s files, repeatable (all must hold); ' +
        'numbers match any spelling (EXPTIME=60 matches 60.0), T/F match logicals',
    ),
});

const searchQuery = filters.extend({
  sort: z
    .enum(ORDERS)
    .default('t_min')
    .describe('t_min (oldest first) or -t_min (newest first); ties by id; observations without time last'),
  cursor: z.string().max(512).optional().describe('the `next` of the previous page (same filters and sort)'),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).describe('rows per page'),
  count: z
    .enum(['exact', 'estimate', 'none'])
    .default('estimate')
    .describe(
      `estimate (default): exact up to ${COUNT_CAP}, beyond that ${COUNT_CAP} with exact=false (a lower bound); ` +
        'exact: a full count; none: no count (cheapest, for later pages). Counts the whole query, not what is left after the cursor',
    ),
});

type Filters = z.output<typeof filters>;

/** The search query of the validated parameters; throws 400 for combinations zod cannot see. */
function toQuery(p: Filters, visibility: Visibility): ObservationQuery {
  const cone = [p.ra, p.dec, p.radius].filter((x) => x !== undefined).length;
  if (cone !== 0 && cone !== 3)
    throw new HttpError(
      400,
      'invalid-request',
      'ra, dec and radius go together (a cone search needs all three)',
    );
  if (cone === 3 && p.box)
    throw new HttpError(400, 'invalid-request', 'give either a cone (ra, dec, radius) or a box, not both');
  if (p.start !== undefined && p.end !== undefined && p.start > p.end)
    throw new HttpError(400, 'invalid-request', `start (${p.start}) is after end (${p.end})`);
  if (p.exptime_min !== undefined && p.exptime_max !== undefined && p.exptime_min > p.exptime_max)
    throw new HttpError(400, 'invalid-request', 'exptime_min is above exptime_max');
  const q: ObservationQuery = { visibility };
  if (cone === 3)
    q.region = { type: 'circle', ra: p.ra as number, dec: p.dec as number, radius: p.radius as number };
  if (p.box) q.region = p.box;
  if (p.collection !== undefined) q.collection = p.collection;
  if (p.start !== undefined) q.start = p.start;
  if (p.end !== undefined) q.end = p.end;
  if (p.instrument !== undefined) q.instrument = p.instrument;
  if (p.filter !== undefined) q.filter = p.filter;
  if (p.target !== undefined) q.target = p.target;
  if (p.exptime_min !== undefined) q.exptimeMin = p.exptime_min;
  if (p.exptime_max !== undefined) q.exptimeMax = p.exptime_max;
  if (p.kw !== undefined) q.keywords = Array.isArray(p.kw) ? p.kw : [p.kw];
  return q;
}

/** searchObservations' RangeErrors (a bad cursor, a region it cannot answer) as 400s. */
async function asRequestError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof RangeError) throw new HttpError(400, 'invalid-request', err.message);
    throw err;
  }
}

const str = z.string().nullable();
const numb = z.number().nullable();

export const observationSchema = z.object({
  id: z.number().int(),
  url: z.string().describe('this observation’s detail: /api/observations/{id}'),
  obs_collection: z.string(),
  obs_id: z.string(),
  obs_publisher_did: str,
  dataproduct_type: str,
  calib_level: numb,
  access_url: str,
  access_format: str,
  access_estsize: numb.describe('kB'),
  target_name: str,
  s_ra: numb,
  s_dec: numb,
  s_fov: numb,
  s_region: str,
  s_resolution: numb,
  s_xel1: numb,
  s_xel2: numb,
  t_min: numb.describe('MJD'),
  t_max: numb.describe('MJD'),
  t_exptime: numb.describe('seconds'),
  t_resolution: numb,
  t_xel: numb,
  em_min: numb.describe('metres'),
  em_max: numb.describe('metres'),
  em_res_power: numb,
  em_xel: numb,
  o_ucd: str,
  pol_states: str,
  pol_xel: numb,
  facility_name: str,
  instrument_name: str,
  filter: str,
  airmass: numb,
  altitude: numb,
  azimuth: numb,
  object: str,
  observer: str,
  site: str,
  night: str,
  public_date: str,
  owner: str,
  group_name: str,
  obs_type: str,
  status: z.string().describe('placeholder (only previews or dumps arrived) | complete'),
  meta_rank: z.number().int(),
  products: z.record(z.string(), z.string()).describe('role → raw key of the group’s files that arrived'),
  created_at: z.string(),
  updated_at: z.string(),
});

type ObservationOut = z.output<typeof observationSchema>;

function observationOut(r: ObservationRow): ObservationOut {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    ...r,
    id: Number(r.id),
    url: `/api/observations/${r.id}`,
    access_estsize: n(r.access_estsize),
    s_xel1: n(r.s_xel1),
    s_xel2: n(r.s_xel2),
    t_xel: n(r.t_xel),
    em_xel: n(r.em_xel),
    pol_xel: n(r.pol_xel),
    calib_level: n(r.calib_level),
    meta_rank: Number(r.meta_rank),
    products: JSON.parse(r.products) as Record<string, string>,
  };
}

/** A file's URL: raw files download at /api/files/{key}, other zones with ?zone=. */
export function fileUrl(zone: string, key: string): string {
  const path = `/api/files/${key.split('/').map(encodeURIComponent).join('/')}`;
  return zone === 'raw' ? path : `${path}?zone=${zone}`;
}

const countSchema = z
  .object({
    value: z.number().int(),
    exact: z.boolean().describe(`false: value is a lower bound (the estimate stopped at ${COUNT_CAP})`),
  })
  .describe('absent with count=none');

const facetSchema = z.array(z.object({ value: z.string().nullable(), count: z.number().int() }));
const FACET_NAMES: Record<(typeof FACETS)[number], string> = {
  obs_collection: 'collection',
  instrument_name: 'instrument_name',
  filter: 'filter',
  dataproduct_type: 'dataproduct_type',
  night: 'night',
};

const fileSchema = z.object({
  key: z.string(),
  zone: z.string(),
  role: z
    .string()
    .describe('science | small | preview | thumbnail | header | auto-preview | auto-thumbnail…'),
  size: z.number(),
  kind: z.string().nullable().describe('fits | header | image | plain, by content'),
  status: z.string(),
  contentType: z.string().nullable(),
  url: z.string().describe('download: /api/files/{key} (with ?zone= outside the raw zone)'),
  headerUrl: z.string().nullable().describe('every HDU’s cards as JSON, for FITS files and header dumps'),
});

const linkSchema = z.object({
  relation: z.string().describe('bias | dark | flat… as the header names it'),
  obsId: z.string(),
  id: z.number().int().nullable().describe('null when it has not arrived, or the caller may not see it'),
  url: z.string().nullable(),
});

const datalinkSchema = z.object({
  semantics: z
    .string()
    .describe('DataLink semantics: #this, #preview, #thumbnail, #auxiliary, #calibration…'),
  accessUrl: z.string(),
  contentType: z.string().nullable(),
  contentLength: z.number().nullable(),
  description: z.string(),
});

const detailSchema = z.object({
  observation: observationSchema,
  files: z.array(fileSchema),
  products: z.record(z.string(), z.string()),
  previews: z
    .object({ preview: z.string().nullable(), thumbnail: z.string().nullable() })
    .describe('the best picture of each size: the pipeline’s own, else the one fitslake rendered'),
  links: z.array(linkSchema),
  datalink: z.array(datalinkSchema),
});

const SEMANTICS: Record<string, [string, string]> = {
  science: ['#this', 'the science file'],
  small: ['#derivation', 'a reduced-size FITS copy'],
  preview: ['#preview', 'the pipeline’s preview image'],
  thumbnail: ['#thumbnail', 'the pipeline’s thumbnail'],
  header: ['#auxiliary', 'a dump of the FITS header'],
  'auto-preview': ['#preview', 'a preview rendered by fitslake'],
  'auto-thumbnail': ['#thumbnail', 'a thumbnail rendered by fitslake'],
};

async function observationDetail(
  lake: Lake,
  v: Visibility,
  id: number,
): Promise<z.output<typeof detailSchema>> {
  const db = lake.catalog.db;
  const row = await db.selectFrom('observations').selectAll().where('id', '=', id).executeTakeFirst();
  // The same answer for "missing" and "hidden": a 404 must not reveal that an id exists.
  if (!row || !observationVisible(v, row)) throw new HttpError(404, 'not-found', `no observation ${id}`);
  const files = await db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .select([
      'artifacts.role',
      'files.key',
      'files.zone',
      'files.size',
      'files.kind',
      'files.status',
      'files.content_type',
    ])
    .where('artifacts.observation_id', '=', id)
    // Unary + (same value): without planner statistics SQLite otherwise walks the files_current index
    // over every current file and probes artifacts for each (72 ms on 100,000 files, bench/server.ts)
    // instead of starting from this observation's artifacts (0.2 ms).
    .where(sql<number>`+${sql.ref('files.current')}`, '=', 1)
    // A file shared with an observation hidden from the caller stays hidden here too.
    .where(fileFilter(v, 'files'))
    .orderBy('files.zone')
    .orderBy('files.key')
    .execute();
  const links = await db
    .selectFrom('observation_links')
    .select(['relation', 'target_obs_id'])
    .where('observation_id', '=', id)
    .orderBy('relation')
    .execute();
  const targets = links.length
    ? await db
        .selectFrom('observations')
        .select(['id', 'obs_id'])
        .where('obs_collection', '=', row.obs_collection)
        .where(
          'obs_id',
          'in',
          links.map((l) => l.target_obs_id),
        )
        .where(observationFilter(v, 'observations'))
        .execute()
    : [];
  const targetId = new Map(targets.map((t) => [t.obs_id, Number(t.id)]));
  const fileList = files.map((f) => ({
    key: f.key,
    zone: f.zone,
    role: f.role,
    size: Number(f.size),
    kind: f.kind,
    status: f.status,
    contentType: f.content_type,
    url: fileUrl(f.zone, f.key),
    headerUrl:
      f.zone === 'raw' && (f.kind === 'fits' || f.kind === 'header')
        ? `${fileUrl(f.zone, f.key)}/header`
        : null,
  }));
  const pick = (...roles: string[]) => {
    for (const role of roles) {
      const f = fileList.find((x) => x.role === role && x.status === 'ingested');
      if (f) return f.url;
    }
    return null;
  };
  const linkList = links.map((l) => {
    const tid = targetId.get(l.target_obs_id) ?? null;
    return {
      relation: l.relation,
      obsId: l.target_obs_id,
      id: tid,
      url: tid === null ? null : `/api/observations/${tid}`,
    };
  });
  const datalink = [
    ...fileList.map((f) => {
      const [semantics, description] = SEMANTICS[f.role] ?? ['#auxiliary', `a ${f.role} file`];
      return {
        semantics,
        accessUrl: f.url,
        contentType: f.contentType,
        contentLength: f.size,
        description: `${description} (${f.key})`,
      };
    }),
    ...linkList
      .filter((l) => l.url !== null)
      .map((l) => ({
        semantics: '#calibration',
        accessUrl: l.url as string,
        contentType: 'application/json',
        contentLength: null,
        description: `the ${l.relation} frame ${l.obsId}`,
      })),
  ];
  const observation = observationOut(row);
  return {
    observation,
    files: fileList,
    products: observation.products,
    previews: {
      preview: pick('preview', 'auto-preview'),
      thumbnail: pick('thumbnail', 'auto-thumbnail'),
    },
    links: linkList,
    datalink,
  };
}

export async function restObservations(app: FastifyInstance, _ctx: ServerContext): Promise<void> {
  const { lake } = _ctx;
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/api/observations',
    {
      schema: {
        summary: 'Search observations',
        description:
          'Filters combine with AND. Paging is by keyset cursor: pass `next` back as `cursor` with the ' +
          'same filters and sort. Only observations the caller may see are returned or counted.',
        querystring: searchQuery,
        response: {
          200: z.object({
            rows: z.array(observationSchema),
            next: z.string().optional().describe('present when more rows follow'),
            count: countSchema.optional(),
          }),
          400: errorSchema,
          401: errorSchema,
        },
      },
    },
    async (request) => {
      const p = request.query;
      const q = toQuery(p, await request.visibility());
      const page = await asRequestError(
        searchObservations(lake.catalog, {
          ...q,
          order: p.sort,
          limit: p.limit,
          ...(p.cursor !== undefined ? { cursor: p.cursor } : {}),
        }),
      );
      let count: { value: number; exact: boolean } | undefined;
      if (p.count !== 'none') {
        // A first page that holds every match is its own exact count.
        if (p.cursor === undefined && page.next === undefined)
          count = { value: page.rows.length, exact: true };
        else count = await asRequestError(countObservations(lake.catalog, q, p.count));
      }
      return {
        rows: page.rows.map(observationOut),
        ...(page.next !== undefined ? { next: page.next } : {}),
        ...(count ? { count } : {}),
      };
    },
  );

  typed.get(
    '/api/observations/facets',
    {
      schema: {
        summary:
          'Counts of the matching observations by collection, instrument, filter, product type and night',
        description:
          'The same filters as /api/observations; the 100 most frequent values of each, null included.',
        querystring: filters,
        response: {
          200: z.object({
            collection: facetSchema,
            instrument_name: facetSchema,
            filter: facetSchema,
            dataproduct_type: facetSchema,
            night: facetSchema,
          }),
          400: errorSchema,
          401: errorSchema,
        },
      },
    },
    async (request) => {
      const q = toQuery(request.query, await request.visibility());
      const facets = await asRequestError(observationFacets(lake.catalog, q));
      return Object.fromEntries(FACETS.map((c) => [FACET_NAMES[c], facets[c]])) as Record<
        'collection' | 'instrument_name' | 'filter' | 'dataproduct_type' | 'night',
        z.output<typeof facetSchema>
      >;
    },
  );

  typed.get(
    '/api/observations/:id',
    {
      schema: {
        summary: 'One observation: its files, products, previews, related observations and DataLink list',
        params: z.object({ id: z.coerce.number().int().min(1).describe('the observation’s id') }),
        response: { 200: detailSchema, 400: errorSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => observationDetail(lake, await request.visibility(), request.params.id),
  );
}
