import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import { readOnlyQuery } from '../../catalog/readonly.ts';
import { CollectionSettingsSchema, type CollectionSettings } from '../../config/config.ts';
import { listRawKeys } from '../../ingest/requeue.ts';
import { queueIngest, reconcile } from '../../ingest/sources.ts';
import { Worker } from '../../ingest/worker.ts';
import { type Lake, openLake, ZONES, type Zone } from '../../lake/lake.ts';
import { formatRows, type OutputFormat } from '../../services/formats.ts';
import type { Output } from '../output.ts';
import { EXIT, summarize, withWorkers } from './ingest.ts';

async function withLake<T>(dir: string | undefined, fn: (lake: Lake) => Promise<T>): Promise<T> {
  const lake = await openLake(dir);
  try {
    return await fn(lake);
  } finally {
    await lake.close();
  }
}

function zoneOf(name: string | undefined): Zone {
  const z = (name ?? 'raw') as Zone;
  if (!ZONES.includes(z)) throw new Error(`--zone ${name}: one of ${ZONES.join(', ')}`);
  return z;
}

/** `fitslake query "SQL"`: read-only, time-limited SQL over the catalog. */
export function queryCommand(
  text: string,
  opts: {
    lake?: string;
    format?: string;
    timeout?: string;
    maxRows?: string;
    server?: string;
    token?: string;
  },
  io: Output,
): Promise<number> {
  const format = (opts.format ?? 'table') as OutputFormat;
  if (!['table', 'csv', 'json', 'votable', 'parquet'].includes(format))
    throw new Error(`--format ${format}: one of table, csv, json, votable, parquet`);
  const limits = { timeoutMs: Number(opts.timeout ?? 30) * 1000, maxRows: Number(opts.maxRows ?? 100_000) };
  const server = opts.server ?? process.env.FITSLAKE_SERVER;
  if (server) return remoteQuery(server, text, format, limits, opts.token ?? process.env.FITSLAKE_TOKEN, io);
  return withLake(opts.lake, async (lake) => {
    const r = await readOnlyQuery(lake.catalog, text, limits);
    const out = formatRows(r.rows, r.columns, format);
    if (typeof out === 'string') io.out(out.endsWith('\n') ? out : `${out}\n`);
    else if (io.bytes) io.bytes(out);
    else process.stdout.write(out);
    if (r.truncated) io.err(`fitslake: result truncated at ${r.rows.length} rows (--max-rows)\n`);
    return EXIT.ok;
  });
}

/**
 * The same query through a server's `POST /api/sql`: the server applies the token's access rule
 * and its own limits. Rows come back as JSON and are formatted here, so every format works alike.
 */
async function remoteQuery(
  server: string,
  text: string,
  format: OutputFormat,
  limits: { timeoutMs: number; maxRows: number },
  token: string | undefined,
  io: Output,
): Promise<number> {
  let url: URL;
  try {
    url = new URL('/api/sql', server);
  } catch {
    throw new Error(`--server ${server}: not a URL (e.g. http://127.0.0.1:8080)`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ sql: text, format: 'json', ...limits }),
    });
  } catch (err) {
    throw new Error(`cannot reach ${url.origin}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const body = (await res.json().catch(() => null)) as
    | { columns: string[]; rows: Record<string, unknown>[]; truncated: boolean }
    | { error: { code: string; message: string } }
    | null;
  if (!body || 'error' in body)
    throw new Error(`${url.origin} answered ${res.status}: ${body?.error.message ?? res.statusText}`);
  const out = formatRows(body.rows, body.columns, format);
  if (typeof out === 'string') io.out(out.endsWith('\n') ? out : `${out}\n`);
  else if (io.bytes) io.bytes(out);
  else process.stdout.write(out);
  if (body.truncated)
    io.err(`fitslake: result truncated at ${body.rows.length} rows (server or --max-rows limit)\n`);
  return EXIT.ok;
}

/** `fitslake ls [PREFIX]`: a zone's objects, or its folders with --delimiter. */
export function lsCommand(
  prefix: string | undefined,
  opts: { lake?: string; zone?: string; recursive?: boolean; json?: boolean },
  io: Output,
): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    const store = lake.zones[zoneOf(opts.zone)];
    let token: string | undefined;
    do {
      const page = await store.list({
        ...(prefix ? { prefix } : {}),
        ...(opts.recursive ? {} : { delimiter: '/' }),
        ...(token ? { continuationToken: token } : {}),
      });
      for (const p of page.prefixes)
        io.out(opts.json ? `${JSON.stringify({ prefix: p })}\n` : `${''.padStart(12)}  ${p}\n`);
      for (const o of page.objects)
        io.out(
          opts.json
            ? `${JSON.stringify({ key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified })}\n`
            : `${String(o.size).padStart(12)}  ${o.key}\n`,
        );
      token = page.nextToken;
    } while (token);
    return EXIT.ok;
  });
}

/** `fitslake get KEY [-o FILE]`: streams an object to a file or stdout. */
export function getCommand(
  key: string,
  opts: { lake?: string; zone?: string; output?: string },
): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    const store = lake.zones[zoneOf(opts.zone)];
    if (!(await store.head(key))) throw new Error(`${key}: no such object in zone ${opts.zone ?? 'raw'}`);
    const body = Readable.from(await store.get(key));
    await pipeline(
      body,
      opts.output && opts.output !== '-' ? createWriteStream(opts.output) : process.stdout,
    );
    return EXIT.ok;
  });
}

/**
 * `fitslake rm KEY…`: moves objects to the recycle zone (kept until lifecycle rules purge them),
 * marks their catalogued versions deleted and drops observations left without files.
 */
export function rmCommand(keys: string[], opts: { lake?: string }, io: Output): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    let code: number = EXIT.ok;
    for (const key of keys) {
      const head = await lake.zones.raw.head(key);
      if (!head) {
        io.err(`fitslake: ${key}: no such object\n`);
        code = EXIT.error;
        continue;
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '');
      await lake.zones.recycle.put(`${stamp}/${key}`, await lake.zones.raw.get(key), {
        metadata: { 'deleted-from': `raw/${key}` },
      });
      await lake.zones.raw.delete(key);
      const ts = new Date().toISOString();
      await lake.catalog.db.transaction().execute(async (tx) => {
        const ids = (
          await tx.selectFrom('files').select('id').where('zone', '=', 'raw').where('key', '=', key).execute()
        ).map((r) => Number(r.id));
        if (!ids.length) return;
        const obs = await tx
          .selectFrom('artifacts')
          .select('observation_id')
          .where('file_id', 'in', ids)
          .execute();
        await tx
          .updateTable('files')
          .set({ current: 0, status: 'deleted', updated_at: ts })
          .where('id', 'in', ids)
          .execute();
        await tx.deleteFrom('artifacts').where('file_id', 'in', ids).execute();
        for (const { observation_id } of obs) {
          const left = await tx
            .selectFrom('artifacts')
            .innerJoin('files', 'files.id', 'artifacts.file_id')
            .select('files.id')
            .where('artifacts.observation_id', '=', observation_id)
            .where('files.zone', '=', 'raw')
            .executeTakeFirst();
          if (!left) await tx.deleteFrom('observations').where('id', '=', observation_id).execute();
        }
        await tx
          .insertInto('events')
          .values({ kind: 'object.deleted', payload: JSON.stringify({ zone: 'raw', key }), created_at: ts })
          .execute();
      });
      io.out(`removed ${key} (kept in the recycle zone as ${stamp}/${key})\n`);
    }
    return code;
  });
}

/** `fitslake status`: what the lake holds, the queue, and recent failures. */
export function statusCommand(
  opts: { lake?: string; json?: boolean; repair?: boolean },
  io: Output,
): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    const db = lake.catalog.db;
    const repaired = opts.repair ? await reconcile(lake) : undefined;
    const files = await db
      .selectFrom('files')
      .select(['zone', 'status', sql<number>`count(*)`.as('n'), sql<number>`sum(size)`.as('bytes')])
      .where('current', '=', 1)
      .groupBy(['zone', 'status'])
      .execute();
    const obs = await db
      .selectFrom('observations')
      .select(['obs_collection', 'status', sql<number>`count(*)`.as('n')])
      .groupBy(['obs_collection', 'status'])
      .execute();
    const jobs = await db
      .selectFrom('jobs')
      .select(['kind', 'status', sql<number>`count(*)`.as('n')])
      .groupBy(['kind', 'status'])
      .execute();
    const failures = await db
      .selectFrom('files')
      .select(['key', 'error', 'updated_at'])
      .where('status', '=', 'failed')
      .where('current', '=', 1)
      .orderBy('updated_at', 'desc')
      .limit(20)
      .execute();
    const parked = await db
      .selectFrom('jobs')
      .select(['kind', 'payload', 'error', 'updated_at'])
      .where('status', '=', 'failed')
      .orderBy('updated_at', 'desc')
      .limit(20)
      .execute();
    const report = {
      lake: lake.dir,
      catalog: lake.catalog.dialect,
      storage: lake.loaded.config.storage.kind,
      files: files.map((f) => ({
        zone: f.zone,
        status: f.status,
        count: Number(f.n),
        bytes: Number(f.bytes ?? 0),
      })),
      observations: obs.map((o) => ({ collection: o.obs_collection, status: o.status, count: Number(o.n) })),
      jobs: jobs.map((j) => ({ kind: j.kind, status: j.status, count: Number(j.n) })),
      failures: failures.map((f) => ({ key: f.key, error: f.error, at: f.updated_at })),
      parkedJobs: parked.map((j) => ({
        kind: j.kind,
        payload: JSON.parse(j.payload),
        error: j.error,
        at: j.updated_at,
      })),
      ...(repaired ? { repaired } : {}),
    };
    if (opts.json) {
      io.out(`${JSON.stringify(report)}\n`);
      return EXIT.ok;
    }
    io.out(`lake ${report.lake} (${report.storage} storage, ${report.catalog} catalog)\n`);
    io.out('files:\n');
    for (const f of report.files)
      io.out(
        `  ${f.zone.padEnd(9)} ${f.status.padEnd(9)} ${String(f.count).padStart(8)}  ${human(f.bytes)}\n`,
      );
    io.out('observations:\n');
    for (const o of report.observations)
      io.out(`  ${o.collection.padEnd(20)} ${o.status.padEnd(12)} ${String(o.count).padStart(8)}\n`);
    io.out('jobs:\n');
    for (const j of report.jobs)
      io.out(`  ${j.kind.padEnd(9)} ${j.status.padEnd(9)} ${String(j.count).padStart(8)}\n`);
    if (report.failures.length) {
      io.out('recent failures:\n');
      for (const f of report.failures) io.out(`  ${f.key}: ${f.error}\n`);
    }
    if (report.parkedJobs.length) {
      io.out('parked jobs:\n');
      for (const j of report.parkedJobs) io.out(`  ${j.kind} ${JSON.stringify(j.payload)}: ${j.error}\n`);
    }
    if (repaired)
      io.out(`repair: queued ${repaired.queued}, marked ${repaired.removed} missing object(s) deleted\n`);
    return EXIT.ok;
  });
}

export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u ? 1 : 0)} ${units[u]}`;
}

/** `fitslake worker`: runs jobs until SIGINT/SIGTERM (then finishes what it holds). */
export function workerCommand(
  opts: {
    lake?: string;
    concurrency?: string;
    untilIdle?: boolean;
    reconcile?: boolean;
    parentPid?: string;
  },
  io: Output,
): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // A helper process of a command: stop when that command is gone (even killed with SIGKILL).
    // The pid comes from the parent, so a parent killed before this line is noticed too.
    const parent = opts.parentPid === undefined ? undefined : Number(opts.parentPid);
    const orphaned = () => parent !== undefined && process.ppid !== parent;
    if (orphaned()) stop.abort();
    const watch =
      parent === undefined
        ? undefined
        : setInterval(() => {
            if (orphaned()) stop.abort();
          }, 250);
    const worker = new Worker(lake);
    io.err(`worker ${worker.owner} started\n`);
    if (opts.reconcile !== false) await reconcile(lake);
    let n = 0;
    await worker.run({
      signal: stop.signal,
      untilIdle: opts.untilIdle ?? false,
      ...(opts.concurrency ? { concurrency: Number(opts.concurrency) } : {}),
      onResult: () => n++,
    });
    if (watch) clearInterval(watch);
    io.err(`worker ${worker.owner} stopped after ${n} job(s)\n`);
    return EXIT.ok;
  });
}

/** `fitslake reindex [--prefix P]`: re-extract stored objects (after an upgrade or a config change). */
export function reindexCommand(
  opts: { lake?: string; prefix?: string; wait?: boolean },
  io: Output,
): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    const keys = await listRawKeys(lake, opts.prefix);
    const since = new Date().toISOString();
    const ids = await queueIngest(lake, keys, true);
    if (!ids.length || opts.wait === false) {
      io.out(`queued ${ids.length} object(s) for re-extraction\n`);
      return EXIT.ok;
    }
    await withWorkers(lake, async (grow) => {
      grow(ids.length);
      for (;;) {
        const left = await lake.catalog.db
          .selectFrom('jobs')
          .select(sql<number>`count(*)`.as('n'))
          .where('id', '>=', Math.min(...ids))
          .where('id', '<=', Math.max(...ids))
          .where('status', 'not in', ['done', 'failed'])
          .executeTakeFirstOrThrow();
        if (Number(left.n) === 0) return;
        await new Promise((r) => setTimeout(r, 150));
      }
    });
    const s = await summarize(lake, keys, since, Math.min(...ids), Math.max(...ids));
    io.out(`re-extracted ${keys.length - s.failed.length}, failed ${s.failed.length}\n`);
    for (const f of s.failed) io.out(`  failed ${f.key}: ${f.error}\n`);
    return s.failed.length ? EXIT.someFailed : EXIT.ok;
  });
}

/** `fitslake collection create|set|show NAME [--calib-level N] …`. */
export function collectionCommand(
  action: string,
  name: string,
  opts: {
    lake?: string;
    calibLevel?: string;
    proprietaryDays?: string;
    dataproductType?: string;
    visibility?: string;
    grouping?: string;
    pathTemplate?: string;
    map?: string[];
    related?: string[];
  },
  io: Output,
): Promise<number> {
  return withLake(opts.lake, async (lake) => {
    if (!['create', 'set', 'show'].includes(action))
      throw new Error(`collection ${action}: use create, set or show`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
      throw new Error(`collection name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
    const db = lake.catalog.db;
    const row = await db.selectFrom('collections').selectAll().where('name', '=', name).executeTakeFirst();
    if (action === 'show') {
      if (!row) throw new Error(`no collection ${name}`);
      io.out(`${JSON.stringify({ name, ...(await lake.collection(name)) }, null, 2)}\n`);
      return EXIT.ok;
    }
    if (action === 'create' && row) throw new Error(`collection ${name} exists (use collection set)`);
    if (action === 'set' && !row) throw new Error(`no collection ${name} (use collection create)`);
    const current: CollectionSettings = row ? JSON.parse(row.settings) : {};
    const next: Record<string, unknown> = { ...current };
    if (opts.calibLevel !== undefined) next.calibLevel = Number(opts.calibLevel);
    if (opts.proprietaryDays !== undefined) next.proprietaryDays = Number(opts.proprietaryDays);
    if (opts.dataproductType !== undefined) next.dataproductType = opts.dataproductType;
    if (opts.visibility !== undefined) next.visibility = opts.visibility;
    if (opts.grouping !== undefined) next.grouping = opts.grouping;
    if (opts.pathTemplate !== undefined) next.pathTemplate = opts.pathTemplate;
    for (const m of opts.map ?? []) {
      const [column, keys] = m.split('=');
      if (!column || !keys) throw new Error(`--map ${m}: use column=KEYWORD[,KEYWORD…]`);
      next.mapping = { ...(next.mapping as object), [column]: keys.split(',') };
    }
    for (const r of opts.related ?? []) {
      const [keyword, relation] = r.split('=');
      if (!keyword || !relation) throw new Error(`--related ${r}: use KEYWORD=relation`);
      next.related = { ...(next.related as object), [keyword.toUpperCase()]: relation };
    }
    const parsed = CollectionSettingsSchema.safeParse(next);
    if (!parsed.success)
      throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    if (parsed.data.grouping) new RegExp(parsed.data.grouping);
    const s = parsed.data;
    const values = {
      settings: JSON.stringify(s),
      calib_level: s.calibLevel ?? null,
      dataproduct_type: s.dataproductType ?? null,
      ...(s.proprietaryDays !== undefined ? { proprietary_days: s.proprietaryDays } : {}),
      ...(s.visibility ? { visibility: s.visibility } : {}),
    };
    if (row) await db.updateTable('collections').set(values).where('name', '=', name).execute();
    else
      await db
        .insertInto('collections')
        .values({ name, created_at: new Date().toISOString(), ...values })
        .execute();
    io.out(`${action === 'create' ? 'created' : 'updated'} collection ${name}: ${JSON.stringify(s)}\n`);
    if (row) io.out('run `fitslake reindex --prefix ' + name + '/` to apply it to files already ingested\n');
    return EXIT.ok;
  });
}
