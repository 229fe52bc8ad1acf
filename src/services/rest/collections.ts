import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import {
  type CollectionAccess,
  collectionAllowed,
  hasRole,
  observationFilter,
  observationRule,
  type Visibility,
} from '../../catalog/access.ts';
import { keywordInventory, viewName } from '../../ingest/crawler.ts';
import { HttpError } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';

/**
 * Collections: `GET /api/collections`, `GET /api/collections/{name}` and its keyword inventory
 * `GET /api/collections/{name}/keywords`. A collection the caller may not see is 404, worded as for
 * one that does not exist; counts are of the observations the caller may see.
 */

const summarySchema = z.object({
  name: z.string(),
  visibility: z.enum(['public', 'private', 'shared']),
  observations: z.number().int().describe('observations the caller may see'),
  url: z.string(),
});

const detailSchema = summarySchema.extend({
  settings: z
    .object({
      calibLevel: z.number().nullable(),
      dataproductType: z.string().nullable(),
      proprietaryDays: z.number().describe('days from an observation’s start to its public date'),
      grouping: z.string().nullable().describe('regular expression naming an exposure’s group of files'),
      roles: z.array(z.tuple([z.string(), z.string()])).nullable(),
      related: z.record(z.string(), z.string()).nullable().describe('header keyword → relation'),
      mapping: z.record(z.string(), z.array(z.string())).nullable().describe('column → header keywords'),
      pathTemplate: z.string().nullable(),
    })
    .describe('how files become observations; owner and groups are shown to admins only'),
  owner: z.string().nullable().optional(),
  groups: z.array(z.string()).optional(),
  keywords: z.number().int().describe('keywords in the inventory'),
  view: z.string().describe('the typed SQL view of its headers (POST /api/sql)'),
});

const keywordSchema = z.object({
  keyword: z.string(),
  type: z.string().describe('undefined | bool | int | float | string | complex (widened over every HDU)'),
  count: z.number().int().nullable().describe('HDUs carrying it; null when withheld (see complete)'),
  examples: z.array(z.unknown()).describe('up to five values; empty when withheld'),
  first_seen: z.string().nullable(),
  last_seen: z.string().nullable(),
});

const nameParams = z.object({ name: z.string().min(1).max(256).describe('collection name') });

/** The collection's access settings when the caller may see it; otherwise a 404. */
async function visibleCollection(ctx: ServerContext, v: Visibility, name: string): Promise<CollectionAccess> {
  const c = (await ctx.collections()).find((x) => x.name === name);
  if (!c || !collectionAllowed(v, name)) throw new HttpError(404, 'not-found', `no collection ${name}`);
  return c;
}

/** Observations per collection, of those the caller may see. */
async function visibleCounts(ctx: ServerContext, v: Visibility, name?: string): Promise<Map<string, number>> {
  let q = ctx.lake.catalog.db
    .selectFrom('observations')
    .select(['obs_collection', sql<number | string>`count(*)`.as('n')])
    .where(observationFilter(v, 'observations'))
    .groupBy('obs_collection');
  if (name !== undefined) q = q.where('obs_collection', '=', name);
  return new Map((await q.execute()).map((r) => [r.obs_collection, Number(r.n)]));
}

export async function restCollections(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/api/collections',
    {
      schema: {
        summary: 'The collections the caller may see, with their observation counts',
        response: { 200: z.object({ collections: z.array(summarySchema) }), 401: errorSchema },
      },
    },
    async (request) => {
      const v = await request.visibility();
      const counts = await visibleCounts(ctx, v);
      const collections = (await ctx.collections())
        .filter((c) => collectionAllowed(v, c.name))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((c) => ({
          name: c.name,
          visibility: c.visibility,
          observations: counts.get(c.name) ?? 0,
          url: `/api/collections/${encodeURIComponent(c.name)}`,
        }));
      return { collections };
    },
  );

  typed.get(
    '/api/collections/:name',
    {
      schema: {
        summary: 'One collection: its settings (those safe to show) and counts',
        params: nameParams,
        response: { 200: detailSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const v = await request.visibility();
      const { name } = request.params;
      const access = await visibleCollection(ctx, v, name);
      const s = await lake.collection(name);
      const row = await lake.catalog.db
        .selectFrom('collections')
        .select('proprietary_days')
        .where('name', '=', name)
        .executeTakeFirst();
      const kw = await lake.catalog.db
        .selectFrom('keywords')
        .select(sql<number | string>`count(*)`.as('n'))
        .where('collection', '=', name)
        .executeTakeFirstOrThrow();
      const admin = hasRole(request.caller, 'admin');
      return {
        name,
        visibility: access.visibility,
        observations: (await visibleCounts(ctx, v, name)).get(name) ?? 0,
        url: `/api/collections/${encodeURIComponent(name)}`,
        settings: {
          calibLevel: s.calibLevel ?? null,
          dataproductType: s.dataproductType ?? null,
          proprietaryDays: s.proprietaryDays ?? row?.proprietary_days ?? 0,
          grouping: s.grouping ?? null,
          roles: s.roles ?? null,
          related: s.related ?? null,
          mapping: s.mapping ?? null,
          pathTemplate: s.pathTemplate ?? null,
        },
        // Who owns a collection and which groups share it is the operators' business.
        ...(admin ? { owner: access.owner ?? null, groups: [...access.groups] } : {}),
        keywords: Number(kw.n),
        view: viewName(name),
      };
    },
  );

  typed.get(
    '/api/collections/:name/keywords',
    {
      schema: {
        summary: 'The keyword inventory of a collection’s headers (written by the schema crawler)',
        description:
          'When the collection holds observations the caller may not see (embargoed), counts, example ' +
          'values and first/last-seen times are withheld (they are aggregated over every file) and ' +
          '`complete` is false; keyword names and types are shown.',
        params: nameParams,
        response: {
          200: z.object({ collection: z.string(), complete: z.boolean(), keywords: z.array(keywordSchema) }),
          401: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const v = await request.visibility();
      const { name } = request.params;
      await visibleCollection(ctx, v, name);
      // The inventory is one aggregate over every file of the collection, embargoed ones included;
      // it cannot be filtered per observation, so a caller who cannot see them all gets no values.
      const hidden =
        !v.all &&
        (await lake.catalog.db
          .selectFrom('observations')
          .select('id')
          .where('obs_collection', '=', name)
          .where(sql<boolean>`NOT ${sql.raw(observationRule(v, 'observations'))}`)
          .limit(1)
          .executeTakeFirst()) !== undefined;
      const keywords = (await keywordInventory(lake.catalog, name)).map((k) =>
        hidden
          ? { keyword: k.keyword, type: k.type, count: null, examples: [], first_seen: null, last_seen: null }
          : k,
      );
      return { collection: name, complete: !hidden, keywords };
    },
  );
}
