// SIA 2.0 at /sia/query and Simple Cone Search 1.03 at /scs: each request is one ADQL query over
// ivoa.obscore (src/services/sia/params.ts), run by the TAP machinery as the caller — so the HEALPix
// index, the access rule and the ObsCore metadata are the very ones TAP uses.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keepQueryProcessWarm } from '../../catalog/readonly.ts';
import type { ServerContext } from '../http/server.ts';
import type { OutColumn } from '../tap/columns.ts';
import { checkParams, runQuery, TapError } from '../tap/query.ts';
import { contentType, votableError } from '../tap/votable.ts';
import { availability, simpleCapabilities } from '../tap/vosi.ts';
import { coneQuery, collectParams, type Params, siaQuery, UsageFault } from './params.ts';

const SIA2 = 'ivo://ivoa.net/std/SIA#query-2.0';
const SCS = 'ivo://ivoa.net/std/ConeSearch';
const XML_TYPE = 'text/xml; charset=utf-8';
const VOTABLE_TYPE = 'application/x-votable+xml';

/** SCS 1.03 finds its columns by these UCD1 words (one each), whatever the columns are called. */
const SCS_UCD: Record<string, string> = {
  obs_publisher_did: 'ID_MAIN',
  s_ra: 'POS_EQ_RA_MAIN',
  s_dec: 'POS_EQ_DEC_MAIN',
};

function scsColumns(columns: OutColumn[]): OutColumn[] {
  return columns.map((c) => {
    if (c.name === 'dist')
      return { ...c, unit: 'deg', ucd: 'pos.angDistance', description: 'distance from the cone centre' };
    const ucd = SCS_UCD[c.name];
    return ucd ? { ...c, ucd } : c;
  });
}

export async function siaRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  const server = lake.loaded.config.server;
  const limits = { defaultMaxrec: Math.min(10_000, server.sqlMaxRows), hardMaxrec: server.sqlMaxRows };
  if (lake.catalog.dialect === 'sqlite') keepQueryProcessWarm();

  // DALI: GET with a query string, or POST with form fields (both may carry parameters).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  const paramsOf = (request: FastifyRequest): Params =>
    collectParams([
      ...new URLSearchParams(request.url.split('?')[1] ?? ''),
      ...(request.body instanceof URLSearchParams ? request.body : []),
    ]);
  const base = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

  /** Runs one ObsCore query as the caller; faults as DALI VOTable error documents. */
  async function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    build: (p: Params) => { adql: string; maxrec?: number; responseFormat?: string },
    how: { format?: string; columns?: (c: OutColumn[]) => OutColumn[]; errorStatus: number },
  ) {
    try {
      const q = build(paramsOf(request));
      const checked = checkParams(
        {
          LANG: 'ADQL',
          QUERY: q.adql,
          ...(q.maxrec !== undefined ? { MAXREC: String(q.maxrec) } : {}),
          ...((q.responseFormat ?? how.format) ? { RESPONSEFORMAT: q.responseFormat ?? how.format } : {}),
        },
        limits,
      );
      const result = await runQuery(checked, {
        catalog: lake.catalog,
        visibility: await request.visibility(),
        base: base(request),
        timeoutMs: server.sqlTimeoutMs,
        ...(how.columns ? { columns: how.columns } : {}),
      });
      return reply.type(contentType(result.format)).send(result.body);
    } catch (err) {
      if (!(err instanceof UsageFault || err instanceof TapError)) throw err;
      // QUERY_STATUS=ERROR for DALI clients; an INFO named Error for cone-search clients (SCS 1.03).
      const message = `UsageError: ${err.message}`;
      return reply
        .status(how.errorStatus)
        .type(VOTABLE_TYPE)
        .send(votableError(message, [{ name: 'Error', value: message }]));
    }
  }

  const siaDescription =
    'SIA 2.0 image search over ivoa.obscore (only what the caller may see). Parameters (case-insensitive, ' +
    'repeatable: values of one parameter ORed, parameters ANDed): POS (CIRCLE|RANGE|POLYGON, ICRS deg), ' +
    'BAND (m), TIME (MJD), POL, FOV, SPATRES (deg), EXPTIME (s), ID, COLLECTION, FACILITY, INSTRUMENT, ' +
    'DPTYPE, CALIB, TARGET, FORMAT, MAXREC, RESPONSEFORMAT. Answers a VOTable of ObsCore rows.';
  const sia = (request: FastifyRequest, reply: FastifyReply) =>
    answer(request, reply, siaQuery, { errorStatus: 400 });
  app.get('/sia/query', { schema: { summary: 'SIA 2.0 query', description: siaDescription } }, sia);
  app.post('/sia/query', { schema: { summary: 'SIA 2.0 query (form)', description: siaDescription } }, sia);
  app.get('/sia/capabilities', { schema: { hide: true } }, (request, reply) =>
    reply
      .type(XML_TYPE)
      .send(simpleCapabilities(base(request), { standardID: SIA2, path: '/sia/query', vosiPath: '/sia' })),
  );
  app.get('/sia/availability', { schema: { hide: true } }, (_request, reply) =>
    reply.type(XML_TYPE).send(availability(true, 'the catalog answers')),
  );

  const scsDescription =
    'Simple Cone Search 1.03 over ivoa.obscore positions (only what the caller may see): RA, DEC, SR ' +
    '(ICRS degrees), VERB 1-3, MAXREC. Answers a VOTable, nearest first; SR=0 gives the columns only.';
  // SCS 1.03 reports errors inside a VOTable answered with HTTP 200 (its clients read no status).
  const scs = (request: FastifyRequest, reply: FastifyReply) =>
    answer(request, reply, coneQuery, { format: 'votable', columns: scsColumns, errorStatus: 200 });
  app.get('/scs', { schema: { summary: 'Simple Cone Search', description: scsDescription } }, scs);
  app.post('/scs', { schema: { summary: 'Simple Cone Search (form)', description: scsDescription } }, scs);
  app.get('/scs/capabilities', { schema: { hide: true } }, (request, reply) =>
    reply
      .type(XML_TYPE)
      .send(simpleCapabilities(base(request), { standardID: SCS, path: '/scs', vosiPath: '/scs' })),
  );
}
