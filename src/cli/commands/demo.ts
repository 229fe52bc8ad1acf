import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { initLake } from '../../config/init.ts';
import { writeSampleNight } from '../../demo/sample-night.ts';
import { Worker } from '../../ingest/worker.ts';
import { openLake } from '../../lake/lake.ts';
import type { Output } from '../output.ts';
import { EXIT, ingestCommand } from './ingest.ts';
import { human } from './lake.ts';
import { serveCommand } from './serve.ts';

/**
 * `fitslake demo [DIR]`: a lake on embedded defaults, a generated night of observations from three
 * instruments (observatory-style file groups, calibration frames), ingested with progress, then a
 * summary of the catalog; then it serves the lake (`fitslake serve`) until Ctrl-C, unless --no-serve.
 */
export async function demoCommand(
  dir: string,
  opts: { exposures?: string; size?: string; serve?: boolean; port?: string; host?: string },
  io: Output,
): Promise<number> {
  const lake = resolve(dir);
  if (!existsSync(join(lake, 'fitslake.yaml'))) initLake(lake);
  const incoming = join(lake, 'incoming', 'night-2022-06-29');
  io.out(`generating a sample night in ${incoming} …\n`);
  const files = await writeSampleNight(incoming, {
    exposures: Number(opts.exposures ?? 12),
    size: Number(opts.size ?? 256),
  });
  io.out(`${files.length} files written; ingesting into ${lake}\n`);
  const code = await ingestCommand([incoming], { lake, collection: 'demo', recursive: true }, io);
  if (code === EXIT.error) return code;
  const l = await openLake(lake);
  try {
    // Previews and the schema crawl run after ingest: let the workers finish them.
    await new Worker(l).run({ untilIdle: true });
    const db = l.catalog.db;
    const byInst = await db
      .selectFrom('observations')
      .select(['instrument_name', 'obs_type', 'status', sql<number>`count(*)`.as('n')])
      .groupBy(['instrument_name', 'obs_type', 'status'])
      .orderBy('instrument_name')
      .execute();
    io.out('\nobservations by instrument and frame type:\n');
    for (const r of byInst)
      io.out(
        `  ${String(r.instrument_name).padEnd(10)} ${String(r.obs_type).padEnd(8)} ${r.status.padEnd(11)} ${r.n}\n`,
      );
    const byFilter = await db
      .selectFrom('observations')
      .select(['filter', sql<number>`count(*)`.as('n'), sql<number>`sum(t_exptime)`.as('exp')])
      .where('obs_type', '=', 'EXPOSE')
      .groupBy('filter')
      .orderBy('filter')
      .execute();
    io.out('science exposures by filter:\n');
    for (const r of byFilter)
      io.out(`  ${String(r.filter).padEnd(6)} ${String(r.n).padStart(4)} frames, ${Number(r.exp)} s\n`);
    const targets = await db
      .selectFrom('observations')
      .select(['target_name', sql<number>`count(*)`.as('n')])
      .where('target_name', 'is not', null)
      .groupBy('target_name')
      .orderBy('target_name')
      .execute();
    io.out(`targets: ${targets.map((t) => `${t.target_name} (${t.n})`).join(', ')}\n`);
    const size = await db
      .selectFrom('files')
      .select(['zone', sql<number>`count(*)`.as('n'), sql<number>`sum(size)`.as('b')])
      .where('current', '=', 1)
      .groupBy('zone')
      .execute();
    io.out(`storage: ${size.map((s) => `${s.zone} ${s.n} files ${human(Number(s.b))}`).join(', ')}\n`);
    const links = await db
      .selectFrom('observation_links')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    io.out(`calibration links (bias/dark/flat): ${links.n}\n`);
    io.out(
      `\ntry:  fitslake query --lake ${dir} "SELECT obs_id, target_name, filter, t_exptime FROM observations WHERE obs_type = 'EXPOSE' LIMIT 5"\n`,
    );
    io.out(
      `      fitslake query --lake ${dir} 'SELECT "OBJECT", "FILTER", "AIRMASS" FROM hdr_demo WHERE "AIRMASS" < 1.3'\n`,
    );
  } finally {
    await l.close();
  }
  if (opts.serve === false) return code;
  io.out(
    '\nserving the lake (Ctrl-C stops it); try /api/observations?instrument=kb001ms, /api/events, /openapi.json\n',
  );
  const served = await serveCommand(
    {
      lake,
      quiet: true,
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.host ? { host: opts.host } : {}),
    },
    io,
  );
  return served === EXIT.ok ? code : served;
}
