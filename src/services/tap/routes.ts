// TAP 1.1 under /tap: /sync, /async (UWS 1.1), /capabilities, /availability, /tables — every query
// run as the caller, over the tables it may see (ivoa.obscore, its collections' keyword views,
// TAP_SCHEMA describing them).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasRole } from '../../catalog/access.ts';
import { keepQueryProcessWarm } from '../../catalog/readonly.ts';
import { HttpError } from '../http/errors.ts';
import type { ServerContext } from '../http/server.ts';
import { tapMetadata } from './metadata.ts';
import { checkParams, runQuery, TapError, type TapParams } from './query.ts';
import { ACTIVE, type Job, JobManager, PHASES, type Phase, type UwsLimits } from './uws.ts';
import { votableError, xml, contentType } from './votable.ts';
import { availability, capabilities, tableDoc, tableset } from './vosi.ts';

export interface TapOptions {
  /** The service's absolute URL without /tap (default: from each request's scheme and Host). */
  publicUrl?: string;
  limits?: Partial<UwsLimits>;
  /** Sync query time limit in ms (default: the server's sqlTimeoutMs). */
  syncTimeoutMs?: number;
  /** How often expired jobs are deleted (ms). */
  sweepMs?: number;
}

type Multi = Record<string, string[]>;

/** Request parameters (query string and form body), names upper-cased (TAP names are case-insensitive). */
function paramsOf(request: FastifyRequest): Multi {
  const out: Multi = {};
  const add = (src: unknown) => {
    if (!src || typeof src !== 'object') return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const vals = Array.isArray(v) ? v : [v];
      for (const x of vals) if (typeof x === 'string') (out[k.toUpperCase()] ??= []).push(x);
    }
  };
  add(request.query);
  add(request.body);
  return out;
}

const first = (m: Multi): TapParams => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v[0]]));

/** multipart/form-data text fields (files are refused: uploads are not supported). */
function parseMultipart(body: Buffer, contentTypeHeader: string): Multi {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentTypeHeader);
  if (!m) throw new TapError('multipart/form-data without a boundary');
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const out: Multi = {};
  let at = body.indexOf(boundary);
  while (at >= 0) {
    const start = at + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(boundary, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // after CRLF, before CRLF
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      if (/filename=/i.test(head))
        throw new TapError('UPLOAD is not supported by this service (no table uploads)');
      if (name) (out[name.toUpperCase()] ??= []).push(part.subarray(split + 4).toString('utf8'));
    }
    at = next;
  }
  return out;
}

const UWS =
  'xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

function nil(tag: string, value: string | null): string {
  return value === null || value === ''
    ? `<uws:${tag} xsi:nil="true"/>`
    : `<uws:${tag}>${xml(value)}</uws:${tag}>`;
}

function parametersXml(job: Job): string {
  return `<uws:parameters>${Object.entries(job.parameters)
    .map(([k, v]) => `<uws:parameter id="${xml(k, true)}">${xml(v)}</uws:parameter>`)
    .join('')}</uws:parameters>`;
}

function resultsXml(job: Job, jobUrl: string): string {
  return job.phase === 'COMPLETED' && job.resultKey
    ? `<uws:results><uws:result id="result" xlink:type="simple" xlink:href="${xml(`${jobUrl}/results/result`, true)}"${job.resultSize !== null ? ` size="${job.resultSize}"` : ''} mime-type="${xml(job.resultType ?? '', true)}"/></uws:results>`
    : '<uws:results/>';
}

function jobXml(job: Job, jobUrl: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<uws:job ${UWS} version="1.1">`,
    `<uws:jobId>${xml(job.id)}</uws:jobId>`,
    ...(job.runId !== null ? [`<uws:runId>${xml(job.runId)}</uws:runId>`] : []),
    nil('ownerId', job.owner),
    `<uws:phase>${job.phase}</uws:phase>`,
    '<uws:quote xsi:nil="true"/>',
    `<uws:creationTime>${job.createdAt}</uws:creationTime>`,
    nil('startTime', job.startedAt),
    nil('endTime', job.endedAt),
    `<uws:executionDuration>${job.executionDuration}</uws:executionDuration>`,
    `<uws:destruction>${job.destruction}</uws:destruction>`,
    parametersXml(job),
    resultsXml(job, jobUrl),
    ...(job.phase === 'ERROR' && job.error !== null
      ? [
          `<uws:errorSummary type="fatal" hasDetail="true"><uws:message>${xml(job.error)}</uws:message></uws:errorSummary>`,
        ]
      : []),
    ...(job.overflow ? ['<uws:jobInfo><overflow>true</overflow></uws:jobInfo>'] : []),
    '</uws:job>',
    '',
  ].join('\n');
}

function jobListXml(jobs: Job[], base: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<uws:jobs ${UWS} version="1.1">`,
    ...jobs.map(
      (j) =>
        `<uws:jobref id="${xml(j.id, true)}" xlink:type="simple" xlink:href="${xml(`${base}/tap/async/${j.id}`, true)}"><uws:phase>${j.phase}</uws:phase>${j.runId !== null ? `<uws:runId>${xml(j.runId)}</uws:runId>` : ''}${j.owner !== null ? `<uws:ownerId>${xml(j.owner)}</uws:ownerId>` : ''}<uws:creationTime>${j.createdAt}</uws:creationTime></uws:jobref>`,
    ),
    '</uws:jobs>',
    '',
  ].join('\n');
}

const XML_TYPE = 'text/xml; charset=utf-8';
const VOTABLE_TYPE = 'application/x-votable+xml';

function sendVotableError(reply: FastifyReply, status: number, message: string) {
  return reply.status(status).type(VOTABLE_TYPE).send(votableError(message));
}

function plain(reply: FastifyReply, status: number, text: string) {
  return reply.status(status).type('text/plain; charset=utf-8').send(`${text}\n`);
}

const DEFAULT_LIMITS = (sqlMaxRows: number): UwsLimits => ({
  defaultMaxrec: Math.min(10_000, sqlMaxRows),
  hardMaxrec: sqlMaxRows,
  defaultDuration: 600,
  maxDuration: 3600,
  defaultRetention: 7 * 86400,
  maxRetention: 30 * 86400,
  concurrency: 2,
  maxWait: 600,
});

/** The TAP service with options (tests, deployments with a public URL behind a proxy). */
export function tapPlugin(opts: TapOptions = {}) {
  return async function tap(app: FastifyInstance, ctx: ServerContext): Promise<void> {
    const server = ctx.lake.loaded.config.server;
    const limits: UwsLimits = { ...DEFAULT_LIMITS(server.sqlMaxRows), ...opts.limits };
    const syncTimeoutMs = opts.syncTimeoutMs ?? server.sqlTimeoutMs;
    const catalog = ctx.lake.catalog;
    if (catalog.dialect === 'sqlite') keepQueryProcessWarm();
    const jobs = new JobManager(catalog, ctx.lake.zones.derived, ctx.collections, limits);
    await jobs.start(opts.sweepMs);
    app.addHook('onClose', async () => jobs.close());

    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => {
        const out: Multi = {};
        for (const [k, v] of new URLSearchParams(body as string)) (out[k] ??= []).push(v);
        done(null, out);
      },
    );
    app.addContentTypeParser(
      'multipart/form-data',
      { parseAs: 'buffer', bodyLimit: 1 << 20 },
      (req, body, done) => {
        try {
          done(null, parseMultipart(body as Buffer, String(req.headers['content-type'])));
        } catch (err) {
          done(err as Error, undefined);
        }
      },
    );

    // Clients (and taplint) like to know what answers.
    app.addHook('onSend', async (_request, reply) => {
      reply.header('server', 'fitslake');
    });

    const baseOf = (request: FastifyRequest) =>
      (opts.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');

    // Every error under /tap is a VOTable error document (clients parse nothing else).
    app.setErrorHandler((err, request, reply) => {
      // The server's own refusals (a bad token, the rate limit) keep the server's JSON shape.
      if (err instanceof HttpError) throw err;
      if (err instanceof TapError) return sendVotableError(reply, 400, err.message);
      const e = err as { statusCode?: number; message: string };
      if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
        return sendVotableError(reply, e.statusCode, e.message);
      request.log.error({ err }, 'TAP request failed');
      return sendVotableError(reply, 500, 'internal error (logged on the server)');
    });

    // ---- sync --------------------------------------------------------------------------------------
    const sync = async (request: FastifyRequest, reply: FastifyReply) => {
      const q = checkParams(first(paramsOf(request)), limits);
      const result = await runQuery(q, {
        catalog,
        visibility: await request.visibility(),
        base: baseOf(request),
        timeoutMs: syncTimeoutMs,
      });
      return reply.type(contentType(result.format)).send(result.body);
    };
    const hide = { schema: { hide: true } };
    // The routes that return data are documented (and so in the access matrix); UWS and VOSI
    // plumbing is described by /tap/capabilities for TAP clients.
    const syncDoc = {
      summary: 'TAP sync query',
      description:
        'TAP 1.1 synchronous query: LANG=ADQL, QUERY, FORMAT|RESPONSEFORMAT (votable, votable/b2, csv, ' +
        'tsv, json, fits), MAXREC. Runs over the tables the caller may see; errors are VOTable documents.',
    };
    app.get('/tap/sync', { schema: syncDoc }, sync);
    app.post('/tap/sync', { schema: { ...syncDoc, summary: 'TAP sync query (form)' } }, sync);

    // ---- VOSI --------------------------------------------------------------------------------------
    app.get('/tap', hide, async (request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send(
          `fitslake TAP 1.1 service: ${baseOf(request)}/tap (sync, async, capabilities, availability, tables)\n`,
        ),
    );
    app.get('/tap/capabilities', hide, async (request, reply) =>
      reply.type(XML_TYPE).send(capabilities(baseOf(request), limits)),
    );
    app.get('/tap/availability', hide, async (_request, reply) => {
      let ok = true;
      let note = 'the catalog answers';
      try {
        await catalog.db.selectFrom('collections').select('name').limit(1).execute();
      } catch (err) {
        ok = false;
        note = `catalog: ${(err as Error).message}`;
      }
      return reply.type(XML_TYPE).send(availability(ok, note));
    });
    const tablesDoc = {
      summary: 'TAP tables (VODataService)',
      description:
        'ivoa.obscore, TAP_SCHEMA and the keyword views of the collections the caller may see; ?detail=min omits columns.',
    };
    app.get('/tap/tables', { schema: tablesDoc }, async (request, reply) => {
      const p = first(paramsOf(request));
      const meta = await tapMetadata(catalog, await request.visibility(), baseOf(request));
      return reply.type(XML_TYPE).send(tableset(meta, (p.DETAIL ?? '').toLowerCase() !== 'min'));
    });
    app.get<{ Params: { name: string } }>('/tap/tables/:name', hide, async (request, reply) => {
      const meta = await tapMetadata(catalog, await request.visibility(), baseOf(request));
      const t = meta.find(request.params.name);
      if (!t) return plain(reply, 404, `no table ${request.params.name}`);
      return reply.type(XML_TYPE).send(tableDoc(t, meta));
    });

    // ---- async (UWS 1.1) ---------------------------------------------------------------------------
    const jobUrl = (request: FastifyRequest, id: string) =>
      `${baseOf(request)}/tap/async/${encodeURIComponent(id)}`;
    const seeOther = (reply: FastifyReply, url: string) => reply.status(303).header('location', url).send();

    /** The job, if the caller may see it: its creator (or an admin); anonymous jobs by their id. */
    async function jobFor(
      request: FastifyRequest,
      reply: FastifyReply,
      id: string,
    ): Promise<Job | undefined> {
      const job = await jobs.get(id);
      const c = request.caller;
      if (!job || (job.owner !== null && job.owner !== c.user && !hasRole(c, 'admin'))) {
        plain(reply, 404, `no job ${id}`);
        return undefined;
      }
      return job;
    }

    app.get('/tap/async', hide, async (request, reply) => {
      const m = paramsOf(request);
      const phases = (m.PHASE ?? []).map((p) => p.toUpperCase());
      for (const p of phases)
        if (!PHASES.includes(p as Phase) && p !== 'ARCHIVED') throw new TapError(`unknown PHASE ${p}`);
      const after = m.AFTER?.[0];
      if (after !== undefined && Number.isNaN(Date.parse(after)))
        throw new TapError(`AFTER must be an ISO 8601 time (got ${after})`);
      const lastValue = m.LAST?.[0];
      if (lastValue !== undefined && !/^\d+$/.test(lastValue))
        throw new TapError(`LAST must be a positive integer (got ${lastValue})`);
      // Without PHASE, UWS 1.1 lists every phase but ARCHIVED (which this service does not use).
      const list = await jobs.list({
        owner: request.caller.user,
        all: hasRole(request.caller, 'admin'),
        ...(phases.length ? { phases: phases as Phase[] } : {}),
        ...(after ? { after: new Date(after).toISOString() } : {}),
        ...(lastValue !== undefined ? { last: Number(lastValue) } : {}),
      });
      return reply.type(XML_TYPE).send(jobListXml(list, baseOf(request)));
    });

    app.post('/tap/async', hide, async (request, reply) => {
      const p = first(paramsOf(request));
      // A bad query or LANG is the job's ERROR when it runs (clients expect the job created).
      const job = await jobs.create(request.caller, p, baseOf(request));
      if ((p.PHASE ?? '').toUpperCase() === 'RUN') await jobs.run(job);
      return seeOther(reply, jobUrl(request, job.id));
    });

    app.get<{ Params: { id: string } }>('/tap/async/:id', hide, async (request, reply) => {
      let job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      const p = first(paramsOf(request));
      if (p.WAIT !== undefined) {
        if (!/^-?\d+$/.test(p.WAIT.trim())) throw new TapError(`WAIT must be whole seconds (got ${p.WAIT})`);
        const wait = Number(p.WAIT) < 0 ? limits.maxWait : Math.min(Number(p.WAIT), limits.maxWait);
        const phase = p.PHASE?.toUpperCase();
        if (ACTIVE.includes(job.phase) && (phase === undefined || phase === job.phase)) {
          await jobs.wait(job.id, wait);
          job = await jobs.get(job.id);
          if (!job) return plain(reply, 404, `no job ${request.params.id}`);
        }
      }
      return reply.type(XML_TYPE).send(jobXml(job, jobUrl(request, job.id)));
    });

    const deleteJob = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      await jobs.delete(job.id);
      return seeOther(reply, `${baseOf(request)}/tap/async`);
    };
    app.delete<{ Params: { id: string } }>('/tap/async/:id', hide, deleteJob);

    app.post<{ Params: { id: string } }>('/tap/async/:id', hide, async (request, reply) => {
      const p = first(paramsOf(request));
      if (p.ACTION !== undefined) {
        if (p.ACTION.toUpperCase() !== 'DELETE')
          throw new TapError(`unknown ACTION ${p.ACTION} (ACTION=DELETE deletes the job)`);
        return deleteJob(request, reply);
      }
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      const { PHASE, ...rest } = p;
      if (Object.keys(rest).length) {
        if (rest.DESTRUCTION !== undefined && Object.keys(rest).length === 1)
          await jobs.update(job.id, { destruction: jobs.destructionTime(rest.DESTRUCTION, job.createdAt) });
        else await jobs.setParameters(job, rest);
      }
      if (PHASE !== undefined) await phaseChange(job.id, PHASE);
      return seeOther(reply, jobUrl(request, job.id));
    });

    async function phaseChange(id: string, value: string) {
      const job = (await jobs.get(id)) as Job;
      const v = value.toUpperCase();
      if (v === 'RUN') await jobs.run(job);
      else if (v === 'ABORT') await jobs.abort(job);
      else throw new TapError(`PHASE=${value}: only RUN or ABORT can be posted`);
    }

    app.get<{ Params: { id: string } }>('/tap/async/:id/phase', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      return plain(reply, 200, job.phase);
    });
    app.post<{ Params: { id: string } }>('/tap/async/:id/phase', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      const p = first(paramsOf(request));
      if (p.PHASE === undefined) throw new TapError('PHASE is required (RUN or ABORT)');
      await phaseChange(job.id, p.PHASE);
      return seeOther(reply, jobUrl(request, job.id));
    });

    app.get<{ Params: { id: string } }>('/tap/async/:id/executionduration', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      return plain(reply, 200, String(job.executionDuration));
    });
    app.post<{ Params: { id: string } }>('/tap/async/:id/executionduration', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      const p = first(paramsOf(request));
      if (job.phase !== 'PENDING')
        throw new TapError(
          `job ${job.id} is ${job.phase}: its execution duration can change only while PENDING`,
        );
      await jobs.update(job.id, { execution_duration: jobs.duration(p.EXECUTIONDURATION ?? '') });
      return seeOther(reply, jobUrl(request, job.id));
    });

    app.get<{ Params: { id: string } }>('/tap/async/:id/destruction', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      return plain(reply, 200, job.destruction);
    });
    app.post<{ Params: { id: string } }>('/tap/async/:id/destruction', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      const p = first(paramsOf(request));
      if (!p.DESTRUCTION) throw new TapError('DESTRUCTION is required (an ISO 8601 time)');
      await jobs.update(job.id, { destruction: jobs.destructionTime(p.DESTRUCTION, job.createdAt) });
      return seeOther(reply, jobUrl(request, job.id));
    });

    app.get<{ Params: { id: string } }>('/tap/async/:id/quote', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      // No estimate: UWS says an empty quote means none.
      return reply.type('text/plain; charset=utf-8').send('');
    });
    app.get<{ Params: { id: string } }>('/tap/async/:id/owner', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      return reply.type('text/plain; charset=utf-8').send(job.owner ?? '');
    });
    app.get<{ Params: { id: string } }>('/tap/async/:id/parameters', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      return reply
        .type(XML_TYPE)
        .send(
          `<?xml version="1.0" encoding="UTF-8"?>\n${parametersXml(job).replace('<uws:parameters>', `<uws:parameters ${UWS}>`)}\n`,
        );
    });
    app.post<{ Params: { id: string } }>('/tap/async/:id/parameters', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      await jobs.setParameters(job, first(paramsOf(request)));
      return seeOther(reply, jobUrl(request, job.id));
    });
    app.get<{ Params: { id: string } }>('/tap/async/:id/results', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      const x = resultsXml(job, jobUrl(request, job.id));
      return reply
        .type(XML_TYPE)
        .send(
          `<?xml version="1.0" encoding="UTF-8"?>\n${x.replace(/^<uws:results/, `<uws:results ${UWS}`)}\n`,
        );
    });
    app.get<{ Params: { id: string } }>('/tap/async/:id/results/result', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      if (job.phase !== 'COMPLETED' || !job.resultKey)
        return plain(reply, 404, `job ${job.id} is ${job.phase}: it has no result`);
      const body = await jobs.result(job);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c));
      const type = job.resultType ?? 'application/octet-stream';
      return reply
        .type(type.startsWith('text/') ? `${type}; charset=utf-8` : type)
        .send(Buffer.concat(chunks));
    });
    app.get<{ Params: { id: string } }>('/tap/async/:id/error', hide, async (request, reply) => {
      const job = await jobFor(request, reply, request.params.id);
      if (!job) return reply;
      if (job.phase !== 'ERROR') return plain(reply, 404, `job ${job.id} is ${job.phase}: it has no error`);
      return reply.type(VOTABLE_TYPE).send(votableError(job.error ?? 'error'));
    });
  };
}

/** The TAP service with defaults (registered by src/services/index.ts). */
export const tapRoutes = tapPlugin();
