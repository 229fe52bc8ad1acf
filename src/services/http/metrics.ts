import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Catalog } from '../../catalog/catalog.ts';

/**
 * Prometheus metrics: HTTP requests by route and status with latency, and the lake's own state
 * read from the catalog at scrape time (queue depth by job state, files by status, ingest rate).
 */
export function registerMetrics(app: FastifyInstance, catalog: Catalog): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fitslake_' });
  const requests = new Counter({
    name: 'fitslake_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'fitslake_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'fitslake_jobs',
    help: 'Jobs in the queue by kind and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await catalog.db
        .selectFrom('jobs')
        .select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['kind', 'status'])
        .execute();
      for (const r of rows) this.set({ kind: r.kind, status: r.status }, Number(r.n));
    },
  });
  new Gauge({
    name: 'fitslake_files',
    help: 'Current file versions by zone and status',
    labelNames: ['zone', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await catalog.db
        .selectFrom('files')
        .select(['zone', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('current', '=', 1)
        .groupBy(['zone', 'status'])
        .execute();
      for (const r of rows) this.set({ zone: r.zone, status: r.status }, Number(r.n));
    },
  });
  new Gauge({
    name: 'fitslake_ingest_files_per_second',
    help: 'Files ingested per second over the last minute',
    registers: [registry],
    async collect() {
      const since = new Date(Date.now() - 60_000).toISOString();
      const r = await catalog.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('kind', '=', 'file.ingested')
        .where('created_at', '>=', since)
        .executeTakeFirst();
      this.set(Number(r?.n ?? 0) / 60);
    },
  });
  new Gauge({
    name: 'fitslake_ingest_failures_last_hour',
    help: 'Files that failed to ingest in the last hour',
    registers: [registry],
    async collect() {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const r = await catalog.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('kind', 'in', ['ingest.failed', 'job.failed'])
        .where('created_at', '>=', since)
        .executeTakeFirst();
      this.set(Number(r?.n ?? 0));
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  return registry;
}
