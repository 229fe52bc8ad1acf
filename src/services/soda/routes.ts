import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type CutoutData,
  CutoutError,
  type CutoutPlan,
  type CutoutRequest,
  encodeCutoutHdu,
  encodeHeaderOnlyPrimary,
  planCutout,
  readCutout,
  readHduAt,
} from '../../fits/cutout.ts';
import { FitsError } from '../../fits/errors.ts';
import type { Hdu } from '../../fits/hdu.ts';
import type { Lake } from '../../lake/lake.ts';
import { storeFor } from '../../ingest/mounts.ts';
import { StorageError } from '../../storage/errors.ts';
import type { ServerContext } from '../http/server.ts';
import { type Params, SodaFault, collectParams, cutoutRequest, single } from './params.ts';
import { imageHdus, type Resolved, resolveId } from './resolve.ts';
import { openForCutout } from './source.ts';

/**
 * SODA 1.0 synchronous cutouts: `GET /soda` and `POST /soda` (form-encoded), the service the
 * DataLink `#cutout` rows describe.
 *
 * Parameters (names case-insensitive, as DALI says):
 *   ID       required, once: an observation's obs_publisher_did (`ivo://fitslake/<collection>?<obs_id>`,
 *            cutting its science file) or a raw-zone file key (`<collection>/<path…>`);
 *   CIRCLE   "ra dec radius" (ICRS degrees);  POLYGON "ra1 dec1 ra2 dec2 ra3 dec3 …";
 *   POS      "CIRCLE …" | "RANGE ra1 ra2 dec1 dec2" (±Inf allowed) | "POLYGON …";
 *   BAND     "lo hi": vacuum wavelength in metres; selects planes of a cube's spectral axis. On an
 *            image without a spectral axis it is checked against the observation's em_min/em_max
 *            (no overlap → error) and otherwise keeps the whole image;
 *   PIXEL_n  "first last": 1-based inclusive pixel range on axis n (FITS order), clipped to the image;
 *   RESPONSEFORMAT  application/fits (the only format). TIME and POL are refused (UsageError).
 * At least one of CIRCLE/POLYGON/POS/BAND/PIXEL_n is required (the whole file is a plain download).
 * Constraints combine (intersection). Each parameter may be given once: a second value — or two of
 * POS/CIRCLE/POLYGON, or a second ID — is `MultiValuedParamNotSupported` (one cutout per request).
 *
 * Output: `application/fits`. Every image HDU of the file that the request overlaps is cut (others
 * are left out): a file whose only cut image is its primary HDU gives a one-HDU FITS; otherwise the
 * primary is the source's primary header (cut when it holds an overlapping image, else header-only)
 * and each cut extension follows as an IMAGE extension. See src/fits/cutout.ts for what the headers keep.
 *
 * Errors: text/plain starting with the SODA word — `UsageError: …` (400; a request that does not
 * overlap the data is `UsageError: NoOverlap: …`; too large is 413), `MultiValuedParamNotSupported:
 * …` (400), `NotFoundFault: …` (404: unknown ID, or one the caller may not see — the same answer),
 * `Error: …` (500, an unreadable stored file).
 *
 * Bytes read: plain and tile-compressed files are read by range (the rows of the box; the tiles
 * it touches), so storage reads ≈ the cutout's size plus its headers. Whole-file gzip/bzip2 files
 * are decompressed as a stream from the start up to the last byte the cutout needs (never held
 * whole: about one chunk in memory) — the cost grows with the cutout's position in the file, not
 * its size. The response headers `fitslake-bytes-read`, `fitslake-bytes-decompressed` and
 * `fitslake-pixel-bytes` report the figures for each request.
 */

/** Most bytes of pixels one synchronous cutout may hold (it is built in memory to set CHECKSUM). */
export const MAX_CUTOUT_BYTES = 512 << 20;
/** On object stores rows closer than this are fetched by one ranged GET (bytes are cheaper than requests). */
const S3_GAP = 64 << 10;

/** The scheme://host of a request, for absolute links (configurable later). */
export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

interface Cut {
  hdu: Hdu;
  plan: CutoutPlan;
  data: CutoutData;
}

export interface CutoutStats {
  storageBytes: number;
  decompressedBytes: number;
  pixelBytes: number;
  container: string;
}

const notFound = (id: string, why = 'no such dataset') =>
  new SodaFault(404, 'NotFoundFault', `${id}: ${why}`);

function faultOf(err: CutoutError): SodaFault {
  if (err.code === 'no-overlap') return new SodaFault(400, 'UsageError', `NoOverlap: ${err.message}`);
  if (err.code === 'too-large') return new SodaFault(413, 'UsageError', err.message);
  return new SodaFault(400, 'UsageError', err.message);
}

const RANK: Record<string, number> = {
  invalid: 5,
  'too-large': 4,
  'no-overlap': 3,
  'no-spectral-axis': 2,
  'no-wcs': 1,
};

/** Plans one HDU; BAND on an image without a spectral axis falls back to the observation's passband. */
function planFor(hdu: Hdu, req: CutoutRequest, target: Resolved): CutoutPlan {
  try {
    return planCutout(hdu, req);
  } catch (err) {
    if (!(err instanceof CutoutError) || err.code !== 'no-spectral-axis' || !req.band) throw err;
    const o = target.observation;
    const [lo, hi] = req.band;
    if (o && o.em_min !== null && o.em_max !== null && (o.em_max < lo || o.em_min > hi))
      throw new CutoutError(
        'no-overlap',
        `the band ${lo}–${hi} m does not overlap the observation's ${o.em_min}–${o.em_max} m`,
      );
    const { band: _band, ...rest } = req;
    return planCutout(hdu, rest);
  }
}

/** Runs one SODA request: the FITS bytes of the cutout and what it cost. */
export async function sodaCutout(
  lake: Lake,
  request: FastifyRequest,
  params: Params,
): Promise<{ bytes: Uint8Array; stats: CutoutStats; name: string }> {
  const id = single(params, 'ID');
  if (id === undefined || id.trim() === '') throw new SodaFault(400, 'UsageError', 'ID is required');
  const req = cutoutRequest(params);
  if (!req.region && !req.band && !req.pixels)
    throw new SodaFault(
      400,
      'UsageError',
      'give a cutout: POS, CIRCLE, POLYGON, BAND or PIXEL_n (the whole file is at its DataLink #this link)',
    );
  const target = await resolveId(lake, await request.visibility(), id.trim());
  if (!target) throw notFound(id);
  const file = target.file;
  if (!file) throw notFound(id, 'its science file has not arrived yet');
  if (file.kind !== 'fits') throw new SodaFault(400, 'UsageError', `${id}: not a FITS file`);
  const rows = await imageHdus(lake, Number(file.id));
  if (!rows.length) throw new SodaFault(400, 'UsageError', `${id}: the file holds no image to cut`);

  let src: Awaited<ReturnType<typeof openForCutout>>;
  try {
    src = await openForCutout(await storeFor(lake, file.zone, file.key), file.key);
  } catch (err) {
    if (err instanceof StorageError && err.code === 'not-found')
      throw notFound(id, 'the stored file is missing');
    throw err;
  }
  const cuts: Cut[] = [];
  let primary: Hdu;
  const fileName = file.key.slice(file.key.lastIndexOf('/') + 1);
  try {
    primary = await readHduAt(src.source, 0, 0);
    let worst: CutoutError | undefined;
    let total = 0;
    // In file order: a forward-only (gzip/bzip2) stream reads each header, then its data, once.
    for (const row of rows) {
      const hdu = row.idx === 0 ? primary : await readHduAt(src.source, row.idx, Number(row.header_offset));
      let plan: CutoutPlan;
      try {
        plan = planFor(hdu, req, target);
      } catch (err) {
        if (!(err instanceof CutoutError)) throw err;
        if (!worst || RANK[err.code] > RANK[worst.code]) worst = err;
        continue;
      }
      const data = await readCutout(src.source, plan, {
        maxBytes: MAX_CUTOUT_BYTES - total,
        ...(src.source.name.startsWith('s3://') ? { coalesceGap: S3_GAP } : {}),
      });
      total += data.bytes.length;
      cuts.push({ hdu, plan, data });
    }
    if (!cuts.length) throw faultOf(worst ?? new CutoutError('no-overlap', 'nothing to cut'));
  } catch (err) {
    if (err instanceof CutoutError) throw faultOf(err);
    throw err;
  } finally {
    await src.close();
  }
  const history = (c: Cut) => `SODA cutout ${c.plan.section} of ${fileName} HDU ${c.hdu.index}`;
  const parts: Uint8Array[] = [];
  const first = cuts[0].hdu.index === 0;
  if (first)
    parts.push(
      encodeCutoutHdu(cuts[0].plan, cuts[0].data, {
        primary: true,
        extend: cuts.length > 1,
        history: history(cuts[0]),
      }),
    );
  else parts.push(encodeHeaderOnlyPrimary(primary, `SODA cutout of ${fileName}: image extensions follow`));
  for (const c of first ? cuts.slice(1) : cuts)
    parts.push(encodeCutoutHdu(c.plan, c.data, { primary: false, history: history(c) }));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return {
    bytes,
    name: `${fileName.replace(/\.(fits?|fts|fz)(\.(gz|bz2))?$/i, '')}-cutout.fits`,
    stats: {
      storageBytes: src.storageBytes(),
      decompressedBytes: src.decompressedBytes(),
      pixelBytes: cuts.reduce((a, c) => a + c.data.bytes.length, 0),
      container: src.container,
    },
  };
}

function sendFault(reply: FastifyReply, fault: SodaFault): FastifyReply {
  return reply.status(fault.status).type('text/plain; charset=utf-8').send(`${fault.text}\n`);
}

async function handle(lake: Lake, request: FastifyRequest, reply: FastifyReply, params: Params) {
  try {
    const { bytes, stats, name } = await sodaCutout(lake, request, params);
    request.log.info({ cutout: stats }, 'soda cutout');
    reply
      .status(200)
      .type('application/fits')
      .header('content-length', bytes.length)
      .header('content-disposition', `inline; filename="${name.replace(/[^\w.-]/g, '_')}"`)
      .header('cache-control', 'private, no-cache')
      .header('vary', 'authorization')
      .header('fitslake-bytes-read', stats.storageBytes)
      .header('fitslake-bytes-decompressed', stats.decompressedBytes)
      .header('fitslake-pixel-bytes', stats.pixelBytes);
    // Streamed in 1 MiB pieces: a large cutout is not copied again into one write.
    const step = 1 << 20;
    return reply.send(
      Readable.from(
        (function* () {
          for (let p = 0; p < bytes.length; p += step)
            yield bytes.subarray(p, Math.min(bytes.length, p + step));
        })(),
      ),
    );
  } catch (err) {
    if (err instanceof SodaFault) return sendFault(reply, err);
    if (err instanceof FitsError) {
      request.log.error({ err }, 'soda: unreadable file');
      return sendFault(reply, new SodaFault(500, 'Error', `the stored file cannot be read: ${err.reason}`));
    }
    throw err;
  }
}

export async function sodaRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  // DALI allows POST with form fields; this scope parses them into URLSearchParams.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  const query = (request: FastifyRequest) => new URLSearchParams(request.url.split('?')[1] ?? '');
  const description =
    'SODA 1.0 synchronous cutout of an image (or cube) as FITS with a corrected WCS. Parameters ' +
    '(case-insensitive): ID (obs_publisher_did or raw file key), CIRCLE "ra dec r", POLYGON "ra1 dec1 …", ' +
    'POS "CIRCLE …|RANGE …|POLYGON …", BAND "lo hi" (m), PIXEL_n "first last" (1-based, inclusive). ' +
    'Errors are text/plain: UsageError, MultiValuedParamNotSupported, NotFoundFault.';
  app.get('/soda', { schema: { summary: 'SODA cutout (sync)', description } }, (request, reply) =>
    handle(lake, request, reply, collectParams(query(request))),
  );
  app.post(
    '/soda',
    { schema: { summary: 'SODA cutout (sync), form-encoded', description } },
    (request, reply) =>
      handle(
        lake,
        request,
        reply,
        collectParams(query(request), request.body instanceof URLSearchParams ? request.body : undefined),
      ),
  );
}
