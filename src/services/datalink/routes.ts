import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fileFilter, observationFilter, type Visibility } from '../../catalog/access.ts';
import type { Lake } from '../../lake/lake.ts';
import type { ServerContext } from '../http/server.ts';
import { fileUrl } from '../rest/observations.ts';
import { collectParams } from '../soda/params.ts';
import {
  type FileRow,
  imageHdus,
  type ObservationRow,
  type Resolved,
  resolveId,
  scienceFile,
} from '../soda/resolve.ts';
import { baseUrl } from '../soda/routes.ts';

/**
 * DataLink 1.1 `{links}` endpoint: `GET /datalink?ID=…` (ID repeatable, up to 100; POST form too).
 *
 * ID forms: an observation's obs_publisher_did (`ivo://fitslake/<collection>?<obs_id>`) or a raw
 * file key (`<collection>/<path…>`). The answer is a VOTable (`application/x-votable+xml;content=datalink`)
 * whose results table has the standard columns ID, access_url, service_def, error_message,
 * semantics, description, content_type, content_length, plus local_semantics (the lake's role
 * name). For an observation:
 *   #this         the science file (`/api/files/<key>`);
 *   #derivation   a reduced-size FITS copy (role small);
 *   #preview / #thumbnail  the pipeline's (or fitslake's) pictures;
 *   #auxiliary    a header dump file, and each FITS file's header cards as JSON (`…/header`);
 *   #calibration  the bias/dark/flat frames the observation names (observation_links), when the
 *                 caller may see them: their science file, or their own DataLink when it has none;
 *   #cutout       the SODA service (service_def → a `type="meta" utype="adhoc:service"` RESOURCE
 *                 with accessURL `/soda`, standardID `ivo://ivoa.net/std/SODA#sync-1.0` and input
 *                 params ID, CIRCLE, POLYGON, POS, BAND, PIXEL_n with datatype/xtype/unit/ucd),
 *                 for FITS files with an image.
 * An ID that is unknown or hidden from the caller gives one row with error_message
 * `NotFoundFault: …` and nothing else (the same for both, so nothing leaks); the HTTP status is
 * 200, as DataLink requires for per-ID errors. Links are absolute, from the request's scheme and host.
 */

export const DATALINK_TYPE = 'application/x-votable+xml;content=datalink';
const MAX_IDS = 100;

interface Link {
  id: string;
  accessUrl?: string;
  serviceDef?: string;
  error?: string;
  semantics?: string;
  description?: string;
  contentType?: string | null;
  contentLength?: number | null;
  localSemantics?: string;
}

interface Descriptor {
  ref: string;
  id: string;
  observation?: ObservationRow;
  shapes: number[][];
}

const SEMANTICS: Record<string, [string, string]> = {
  science: ['#this', 'the science file'],
  small: ['#derivation', 'a reduced-size FITS copy'],
  preview: ['#preview', 'the pipeline’s preview image'],
  thumbnail: ['#thumbnail', 'the pipeline’s thumbnail'],
  header: ['#auxiliary', 'a dump of the FITS header'],
  'auto-preview': ['#preview', 'a preview rendered by fitslake'],
  'auto-thumbnail': ['#thumbnail', 'a thumbnail rendered by fitslake'],
};

function contentType(f: Pick<FileRow, 'content_type' | 'kind' | 'key'>): string | null {
  if (f.content_type && /^[a-z0-9.+-]+\/[a-z0-9.+-]+/i.test(f.content_type)) return f.content_type;
  if (f.kind === 'fits' || /\.(fits?|fts|fz)(\.(gz|bz2))?$/i.test(f.key)) return 'application/fits';
  if (/\.jpe?g$/i.test(f.key)) return 'image/jpeg';
  if (/\.png$/i.test(f.key)) return 'image/png';
  if (f.kind === 'header' || /\.(txt|hdr)$/i.test(f.key)) return 'text/plain';
  return null;
}

interface FileLinkRow extends Pick<FileRow, 'key' | 'zone' | 'size' | 'kind' | 'content_type' | 'status'> {
  role: string;
  id: number;
}

async function linksFor(
  lake: Lake,
  v: Visibility,
  base: string,
  r: Resolved,
  descriptors: Descriptor[],
): Promise<Link[]> {
  const db = lake.catalog.db;
  const out: Link[] = [];
  const id = r.id;
  let files: FileLinkRow[];
  if (r.observation) {
    files = await db
      .selectFrom('artifacts')
      .innerJoin('files', 'files.id', 'artifacts.file_id')
      .select([
        'artifacts.role',
        'files.id',
        'files.key',
        'files.zone',
        'files.size',
        'files.kind',
        'files.content_type',
        'files.status',
      ])
      .where('artifacts.observation_id', '=', Number(r.observation.id))
      .where('files.current', '=', 1)
      .where(fileFilter(v, 'files'))
      .orderBy('files.zone')
      .orderBy('files.key')
      .execute();
  } else files = r.file ? [{ ...r.file, id: Number(r.file.id), role: 'science' }] : [];
  files = files.filter((f) => f.status === 'ingested');
  // #this first, as clients look for it.
  files.sort((a, b) => Number(b.role === 'science') - Number(a.role === 'science'));
  for (const f of files) {
    const [semantics, what] = SEMANTICS[f.role] ?? ['#auxiliary', `a ${f.role} file`];
    const url = base + fileUrl(f.zone, f.key);
    out.push({
      id,
      accessUrl: url,
      semantics,
      description: `${what} (${f.key})`,
      contentType: contentType(f),
      contentLength: Number(f.size),
      localSemantics: f.role,
    });
    if (f.kind === 'fits' && (f.zone === 'raw' || f.zone === 'mounted'))
      out.push({
        id,
        accessUrl: `${url}/header`,
        semantics: '#auxiliary',
        description: `every HDU’s header cards of ${f.key} (JSON)`,
        contentType: 'application/json',
        localSemantics: 'header-json',
      });
  }
  const science = r.file;
  if (science && science.kind === 'fits') {
    const hdus = await imageHdus(lake, Number(science.id));
    if (hdus.length) {
      const ref = `soda-${descriptors.length + 1}`;
      descriptors.push({
        ref,
        id,
        ...(r.observation ? { observation: r.observation } : {}),
        shapes: hdus.map((h) => JSON.parse(h.shape) as number[]),
      });
      out.push({
        id,
        serviceDef: ref,
        semantics: '#cutout',
        description: `a SODA cutout of ${science.key} (sky region, band or pixel ranges)`,
        contentType: 'application/fits',
        localSemantics: 'cutout',
      });
    }
  }
  if (r.observation) {
    const o = r.observation;
    const links = await db
      .selectFrom('observation_links')
      .select(['relation', 'target_obs_id'])
      .where('observation_id', '=', Number(o.id))
      .orderBy('relation')
      .execute();
    if (links.length) {
      const targets = await db
        .selectFrom('observations')
        .selectAll()
        .where('obs_collection', '=', o.obs_collection)
        .where(
          'obs_id',
          'in',
          links.map((l) => l.target_obs_id),
        )
        .where(observationFilter(v, 'observations'))
        .execute();
      for (const l of links) {
        const t = targets.find((x) => x.obs_id === l.target_obs_id);
        if (!t) continue; // not arrived, or hidden from the caller: no row either way
        const file = await scienceFile(lake, v, Number(t.id));
        const description = `the ${l.relation} frame ${t.obs_id}`;
        if (file)
          out.push({
            id,
            accessUrl: base + fileUrl(file.zone, file.key),
            semantics: '#calibration',
            description,
            contentType: contentType(file),
            contentLength: Number(file.size),
            localSemantics: l.relation,
          });
        else if (t.obs_publisher_did)
          out.push({
            id,
            accessUrl: `${base}/datalink?ID=${encodeURIComponent(t.obs_publisher_did)}`,
            semantics: '#calibration',
            description: `${description} (its links)`,
            contentType: DATALINK_TYPE,
            localSemantics: l.relation,
          });
      }
    }
  }
  if (!out.length) out.push({ id, error: `NotFoundFault: ${id}: no files have arrived for it yet` });
  return out;
}

const xml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // Characters XML 1.0 cannot carry at all.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\uFFFD');

const FIELDS: [keyof Link, string, string, string][] = [
  ['id', 'ID', 'char" arraysize="*', 'meta.id;meta.main'],
  ['accessUrl', 'access_url', 'char" arraysize="*', 'meta.ref.url'],
  ['serviceDef', 'service_def', 'char" arraysize="*', 'meta.ref'],
  ['error', 'error_message', 'char" arraysize="*', 'meta.code.error'],
  ['semantics', 'semantics', 'char" arraysize="*', 'meta.code'],
  ['description', 'description', 'char" arraysize="*', 'meta.note'],
  ['contentType', 'content_type', 'char" arraysize="*', 'meta.code.mime'],
  ['contentLength', 'content_length', 'long" unit="byte', 'phys.size;meta.file'],
  ['localSemantics', 'local_semantics', 'char" arraysize="*', 'meta.code'],
];

const param = (name: string, attrs: string, value: string, description: string, values = '') =>
  `<PARAM name="${name}" ${attrs} value="${xml(value)}"><DESCRIPTION>${xml(description)}</DESCRIPTION>${values}</PARAM>`;

/** Numbers of an s_region "POLYGON [ICRS] ra dec …" (STC-S), or undefined. */
function polygonOf(s: string | null): number[] | undefined {
  const m = /^\s*POLYGON\s+(?:[A-Z]+\s+)?([-+0-9.eE\s]+)$/i.exec(s ?? '');
  if (!m) return undefined;
  const n = m[1].trim().split(/\s+/).map(Number);
  return n.length >= 6 && n.length % 2 === 0 && n.every(Number.isFinite) ? n : undefined;
}

function descriptorXml(d: Descriptor, base: string): string {
  const o = d.observation;
  const circleMax =
    o && o.s_ra !== null && o.s_dec !== null && o.s_fov !== null
      ? `<VALUES><MAX value="${o.s_ra} ${o.s_dec} ${o.s_fov / 2}"/></VALUES>`
      : '';
  const poly = polygonOf(o?.s_region ?? null);
  const polyMax = poly ? `<VALUES><MAX value="${poly.join(' ')}"/></VALUES>` : '';
  const band =
    o && o.em_min !== null && o.em_max !== null ? ` (the data cover ${o.em_min}–${o.em_max} m)` : '';
  const naxis = Math.max(...d.shapes.map((s) => s.length));
  const pixels: string[] = [];
  for (let i = 0; i < naxis; i++) {
    const sizes = [...new Set(d.shapes.map((s) => s[i]).filter((x) => x !== undefined))];
    const axis = ['x', 'y', 'z'][i];
    pixels.push(
      param(
        `PIXEL_${i + 1}`,
        `datatype="long" arraysize="2" xtype="interval"${axis ? ` ucd="pos.cartesian.${axis};instr.pixel"` : ''}`,
        '',
        `pixel range "first last" on axis ${i + 1} (FITS order, 1-based, inclusive; the image has ${sizes.join(' or ')} pixels)`,
      ),
    );
  }
  return [
    `<RESOURCE type="meta" utype="adhoc:service" ID="${d.ref}">`,
    `<DESCRIPTION>${xml(`SODA synchronous cutouts of ${d.id}`)}</DESCRIPTION>`,
    '<PARAM name="standardID" datatype="char" arraysize="*" value="ivo://ivoa.net/std/SODA#sync-1.0"/>',
    `<PARAM name="accessURL" datatype="char" arraysize="*" value="${xml(`${base}/soda`)}"/>`,
    '<PARAM name="contentType" datatype="char" arraysize="*" value="application/fits"/>',
    '<GROUP name="inputParams">',
    param('ID', 'datatype="char" arraysize="*" ucd="meta.id;meta.dataset"', d.id, 'the dataset to cut'),
    param(
      'CIRCLE',
      'datatype="double" arraysize="3" xtype="circle" unit="deg" ucd="phys.angArea;obs"',
      '',
      'a circle "ra dec radius" (ICRS, degrees): the pixels it overlaps',
      circleMax,
    ),
    param(
      'POLYGON',
      'datatype="double" arraysize="*" xtype="polygon" unit="deg" ucd="phys.angArea;obs"',
      '',
      'a polygon "ra1 dec1 ra2 dec2 ra3 dec3 …" (ICRS, degrees): the pixels it overlaps',
      polyMax,
    ),
    param(
      'POS',
      'datatype="char" arraysize="*" ucd="pos;obs.field"',
      '',
      'a region as "CIRCLE ra dec r", "RANGE ra1 ra2 dec1 dec2" or "POLYGON ra1 dec1 …" (degrees)',
    ),
    param(
      'BAND',
      'datatype="double" arraysize="2" xtype="interval" unit="m" ucd="em.wl"',
      '',
      `a vacuum wavelength interval "lo hi" in metres: the planes of a cube's spectral axis${band}`,
    ),
    ...pixels,
    '</GROUP>',
    '</RESOURCE>',
  ].join('\n');
}

/** The DataLink VOTable for links and service descriptors. */
export function datalinkVotable(links: Link[], descriptors: Descriptor[], base: string): string {
  const fields = FIELDS.map(
    ([, name, type, ucd]) => `<FIELD name="${name}" datatype="${type}" ucd="${ucd}"/>`,
  ).join('\n');
  const rows = links
    .map(
      (l) =>
        `<TR>${FIELDS.map(([k]) => {
          const v = l[k];
          return v === undefined || v === null ? '<TD/>' : `<TD>${xml(String(v))}</TD>`;
        }).join('')}</TR>`,
    )
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '<RESOURCE type="results">',
    '<INFO name="standardID" value="ivo://ivoa.net/std/DataLink#links-1.1"/>',
    '<TABLE>',
    fields,
    '<DATA><TABLEDATA>',
    rows,
    '</TABLEDATA></DATA>',
    '</TABLE>',
    '</RESOURCE>',
    ...descriptors.map((d) => descriptorXml(d, base)),
    '</VOTABLE>',
    '',
  ].join('\n');
}

async function answer(lake: Lake, request: FastifyRequest, params: URLSearchParams[]) {
  const p = collectParams(...params);
  const ids = (p.get('ID') ?? []).map((s) => s.trim()).filter((s) => s !== '');
  const base = baseUrl(request);
  if (!ids.length || ids.length > MAX_IDS) {
    return {
      status: 400,
      body: `UsageError: give 1 to ${MAX_IDS} ID parameters (an obs_publisher_did or a file key)\n`,
      type: 'text/plain; charset=utf-8',
    };
  }
  const v = await request.visibility();
  const links: Link[] = [];
  const descriptors: Descriptor[] = [];
  for (const id of ids) {
    const r = await resolveId(lake, v, id);
    if (!r) links.push({ id, error: `NotFoundFault: ${id}: no such dataset` });
    else links.push(...(await linksFor(lake, v, base, r, descriptors)));
  }
  return { status: 200, body: datalinkVotable(links, descriptors, base), type: DATALINK_TYPE };
}

export async function datalinkRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  const query = (request: FastifyRequest) => new URLSearchParams(request.url.split('?')[1] ?? '');
  const description =
    'DataLink 1.1 links of one or more datasets (ID repeatable: obs_publisher_did or raw file key): ' +
    '#this, #preview, #thumbnail, #auxiliary, #calibration, #cutout (with a SODA service descriptor). ' +
    'Unknown or hidden IDs give a row with error_message NotFoundFault.';
  app.get('/datalink', { schema: { summary: 'DataLink {links}', description } }, async (request, reply) => {
    const r = await answer(lake, request, [query(request)]);
    return reply.status(r.status).header('cache-control', 'private, no-cache').type(r.type).send(r.body);
  });
  app.post(
    '/datalink',
    { schema: { summary: 'DataLink {links}, form-encoded', description } },
    async (request, reply) => {
      const body = request.body instanceof URLSearchParams ? [request.body] : [];
      const r = await answer(lake, request, [query(request), ...body]);
      return reply.status(r.status).header('cache-control', 'private, no-cache').type(r.type).send(r.body);
    },
  );
}
