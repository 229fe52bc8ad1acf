// Shared by the event tests: a lake with a public, a private and an embargoed collection, real
// files from the sample night ingested by the real Worker, and an SSE client over real HTTP.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { initLake } from '../../../src/config/init.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { writeSampleNight } from '../../../src/demo/sample-night.ts';
import { queueIngest } from '../../../src/ingest/sources.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import type { Catalog } from '../../../src/catalog/catalog.ts';
import { type Lake, lakeOf } from '../../../src/lake/lake.ts';
import { EVENT_KINDS } from '../../../src/services/events/visibility.ts';

/** pub: public; vault: private to olga; embargo: public, but each observation is olga's for ~270 years. */
export const COLLECTIONS_YAML = `collections:
  pub: {}
  vault: { visibility: private, owner: olga }
  embargo: { owner: olga, proprietaryDays: 100000 }
`;

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** A lake over a given catalog (both engines), with the collections above and extra config. */
export async function lakeWith(cat: Catalog, extraYaml = ''): Promise<Lake> {
  const dir = tmp('fitslake-ev-');
  initLake(dir);
  writeFileSync(join(dir, 'fitslake.yaml'), COLLECTIONS_YAML + extraYaml);
  await cat.migrate();
  return lakeOf(loadConfig(dir, {}), cat);
}

/** The science frames of a small sample night: [file name, bytes]. */
export async function scienceFrames(seed = 3): Promise<{ name: string; bytes: Buffer }[]> {
  const dir = tmp('fitslake-ev-night-');
  const files = await writeSampleNight(dir, { exposures: 2, size: 32, seed });
  return files
    .filter((f) => f.role === 'science')
    .map((f) => ({ name: f.path.split('/').pop() as string, bytes: readFileSync(join(dir, f.path)) }));
}

/** Stores objects in the raw zone and ingests them with the real Worker, as `fitslake ingest` does. */
export async function arrive(lake: Lake, objects: { key: string; bytes: Uint8Array }[]): Promise<void> {
  for (const o of objects) await lake.zones.raw.put(o.key, o.bytes);
  await queueIngest(
    lake,
    objects.map((o) => o.key),
  );
  await new Worker(lake).run({ untilIdle: true, concurrency: 1 });
}

export interface Received {
  id: number;
  event: string;
  data: { id: number; kind: string; time: string; payload: Record<string, unknown> };
}

/** An EventSource (the npm `eventsource` package, the browser API on Node) collecting every kind. */
export class SseClient {
  readonly received: Received[] = [];
  readonly es: EventSource;
  private waiters: (() => void)[] = [];
  opened: Promise<void>;

  constructor(url: string, opts: { lastEventId?: number; extraKinds?: string[] } = {}) {
    const lastEventId = opts.lastEventId;
    this.es = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: {
            ...(init.headers as Record<string, string>),
            ...(lastEventId !== undefined ? { 'Last-Event-ID': String(lastEventId) } : {}),
          },
        }),
    });
    this.opened = new Promise((resolve, reject) => {
      this.es.addEventListener('open', () => resolve());
      this.es.addEventListener('error', (e) =>
        reject(new Error(`EventSource error: ${(e as { message?: string }).message}`)),
      );
    });
    // Errors after the open (a server closing) are for the test to see in `received`, not a crash.
    this.opened.catch(() => {});
    for (const kind of [...EVENT_KINDS, ...(opts.extraKinds ?? [])])
      this.es.addEventListener(kind, (m) => {
        this.received.push({ id: Number(m.lastEventId), event: m.type, data: JSON.parse(m.data) });
        for (const w of this.waiters.splice(0)) w();
      });
  }

  /** Waits until `pred` holds over what was received. */
  async until(pred: (r: Received[]) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; received ${JSON.stringify(this.received.map((r) => [r.id, r.event, r.data.payload.key ?? r.data.payload.obsId]))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.es.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
