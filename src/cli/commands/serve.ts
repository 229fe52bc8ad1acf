import { accountsExist } from '../../catalog/accounts.ts';
import { Worker } from '../../ingest/worker.ts';
import { openLake } from '../../lake/lake.ts';
import { isLoopbackHost } from '../../services/http/auth.ts';
import { buildServer } from '../../services/http/server.ts';
import { servicePlugins } from '../../services/index.ts';
import type { Output } from '../output.ts';
import { EXIT } from './ingest.ts';

export class ServeError extends Error {
  override name = 'ServeError';
}

/**
 * `fitslake serve`: the HTTP server plus (with workers.mode in-process) a worker, until SIGINT or
 * SIGTERM — then it stops accepting requests, lets the ones in flight (uploads too) and the running
 * jobs finish, and closes the catalog.
 */
export async function serveCommand(
  opts: { lake?: string; host?: string; port?: string; worker?: boolean; quiet?: boolean },
  io: Output,
): Promise<number> {
  const lake = await openLake(opts.lake);
  try {
    const { server, workers } = lake.loaded.config;
    const host = opts.host ?? server.host;
    const port = opts.port !== undefined ? Number(opts.port) : server.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ServeError(`--port ${opts.port}: 0…65535`);
    if (!isLoopbackHost(host) && !(await accountsExist(lake.catalog)))
      throw new ServeError(
        `refusing to serve on ${host} without accounts: anyone who can reach it would be an admin. ` +
          'Create one first (`fitslake user add NAME --role admin`, then `fitslake token create NAME`), ' +
          'or serve on 127.0.0.1.',
      );
    const app = await buildServer({
      lake,
      plugins: servicePlugins,
      rateLimit: server.rateLimit,
      ...(opts.quiet ? { logger: false } : {}),
    });
    const stop = new AbortController();
    const runWorker = opts.worker !== false && workers.mode === 'in-process';
    const worker = runWorker
      ? new Worker(lake).run({ signal: stop.signal, concurrency: workers.concurrency })
      : undefined;
    await app.listen({ host, port });
    const address = app.server.address();
    const shown = typeof address === 'object' && address ? address.port : port;
    io.out(`fitslake serving http://${host.includes(':') ? `[${host}]` : host}:${shown}\n`);
    await new Promise<void>((resolve) => {
      const onSignal = () => resolve();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    io.err('fitslake: stopping (finishing requests and jobs in flight)\n');
    stop.abort();
    // Connections that never sent a request (or stay idle) would hold close() until Node's own
    // timeouts: in-flight requests get a grace period, then every connection is closed.
    const grace = setTimeout(() => app.server.closeAllConnections(), 30_000);
    grace.unref();
    await app.close();
    clearTimeout(grace);
    await worker;
    return EXIT.ok;
  } finally {
    await lake.close();
  }
}
