// A server in its own process, for tests that watch its memory: opens the lake given by --lake,
// serves the file routes on loopback (--port, 0 = any) and prints the line `fitslake serve` prints,
// `fitslake serving http://127.0.0.1:PORT`. With --worker it also runs an ingest worker, as the
// real command does. Stands in until `fitslake serve` exists; stops on SIGTERM.
import { parseArgs } from 'node:util';
import { Worker } from '../../src/ingest/worker.ts';
import { openLake } from '../../src/lake/lake.ts';
import { buildServer } from '../../src/services/http/server.ts';
import { restFiles } from '../../src/services/rest/files.ts';

const { values } = parseArgs({
  options: {
    lake: { type: 'string' },
    port: { type: 'string', default: '0' },
    worker: { type: 'boolean', default: false },
  },
});
if (!values.lake) throw new Error('serve-child: --lake DIR is required');
const lake = await openLake(values.lake);
const app = await buildServer({ lake, logger: false, plugins: [restFiles] });
await app.listen({ host: '127.0.0.1', port: Number(values.port) });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('serve-child: no TCP address');
const stop = new AbortController();
const working = values.worker
  ? new Worker(lake).run({ signal: stop.signal, pollMs: 100 })
  : Promise.resolve();
process.stdout.write(`fitslake serving http://127.0.0.1:${address.port}\n`);
process.on('SIGTERM', async () => {
  stop.abort();
  await app.close();
  await working;
  await lake.close();
  process.exit(0);
});
