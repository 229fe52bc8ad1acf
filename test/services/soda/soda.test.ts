// SODA cutouts over real HTTP on a lake the real worker ingested: cutouts opened and checked by
// astropy (checksums verified, WCS maps the cutout's centre to the requested position), pixels
// against a full read, bytes read from storage for plain, tile-compressed (fpack), gzip and bzip2
// files, the access rule (embargoed and private observations are 404 NotFoundFault), and the
// DALI/SODA error conventions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BufferSource, type ByteSource } from '../../../src/fits/byte-source.ts';
import { openFits } from '../../../src/fits/fits-file.ts';
import { readImage, readSection } from '../../../src/fits/image.ts';
import { wcsFromHeader } from '../../../src/fits/wcs/wcs.ts';
import { encodeImageHdu } from '../../../src/fits/write.ts';
import { queueIngest } from '../../../src/ingest/sources.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import { sodaRoutes } from '../../../src/services/soda/routes.ts';
import { populatedLake } from '../rest/fixture.ts';

const fx = await populatedLake([sodaRoutes]);
after(() => fx.close());
const db = fx.lake.catalog.db;
const tmp = mkdtempSync(join(tmpdir(), 'fitslake-soda-'));

// A large plain image (2048², int16 with BZERO, 8 MiB), the same tile-compressed by fpack in
// 128×128 tiles, and the same gzipped: all ingested as the worker would.
const SIZE = 2048;
const SCALE = 0.5 / 3600;
const [RA0, DEC0] = [150.25, 2.3];
const pixels = new Int16Array(SIZE * SIZE);
for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) % 4000) - 2000 + Math.floor(i / SIZE);
const big = encodeImageHdu(
  pixels,
  [SIZE, SIZE],
  [
    ['BSCALE', 1],
    ['BZERO', 32768],
    ['OBJECT', 'big field'],
    ['CTYPE1', 'RA---TAN'],
    ['CTYPE2', 'DEC--TAN'],
    ['CRPIX1', 1024.5],
    ['CRPIX2', 1024.5],
    ['CRVAL1', RA0],
    ['CRVAL2', DEC0],
    ['CD1_1', -SCALE * Math.cos(0.1)],
    ['CD1_2', SCALE * Math.sin(0.1)],
    ['CD2_1', SCALE * Math.sin(0.1)],
    ['CD2_2', SCALE * Math.cos(0.1)],
    ['RADESYS', 'ICRS'],
  ],
);
writeFileSync(join(tmp, 'big.fits'), big);
const fpack = spawnSync('fpack', ['-t', '128,128', '-O', join(tmp, 'big.fits.fz'), join(tmp, 'big.fits')]);
assert.equal(fpack.status, 0, `fpack: ${fpack.stderr}`);
const KEYS = {
  plain: 'night/big/plain-field.fits',
  tiled: 'night/big/tiled-field.fits.fz',
  gzip: 'night/big/gzip-field.fits.gz',
};
await fx.lake.zones.raw.put(KEYS.plain, big);
await fx.lake.zones.raw.put(KEYS.tiled, readFileSync(join(tmp, 'big.fits.fz')));
await fx.lake.zones.raw.put(KEYS.gzip, gzipSync(big));
await queueIngest(fx.lake, Object.values(KEYS));
await new Worker(fx.lake).run({ untilIdle: true, concurrency: 1 });
for (const key of Object.values(KEYS)) {
  const f = await db
    .selectFrom('files')
    .select(['status', 'error'])
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  assert.equal(f.status, 'ingested', `${key}: ${f.error}`);
}

// Every ByteSource the store opens, to count what was read from storage.
const opened: ByteSource[] = [];
const store = fx.lake.zones.raw;
const openSource = store.source.bind(store);
store.source = async (key: string) => {
  const s = await openSource(key);
  opened.push(s);
  return s;
};
const storageRead = () => opened.reduce((a, s) => a + ((s as { bytesRead?: number }).bytesRead ?? 0), 0);

interface Answer {
  status: number;
  type: string;
  body: Buffer;
  headers: Headers;
}
async function soda(
  params: [string, string][],
  user?: Parameters<typeof fx.auth>[0],
  post = false,
): Promise<Answer> {
  opened.length = 0;
  const qs = new URLSearchParams(params);
  const r = post
    ? await fetch(`${fx.srv.url}/soda`, {
        method: 'POST',
        headers: { ...fx.auth(user), 'content-type': 'application/x-www-form-urlencoded' },
        body: qs.toString(),
      })
    : await fetch(`${fx.srv.url}/soda?${qs}`, { headers: fx.auth(user) });
  return {
    status: r.status,
    type: r.headers.get('content-type') ?? '',
    body: Buffer.from(await r.arrayBuffer()),
    headers: r.headers,
  };
}

/** astropy opens the cutout with checksum verification (any warning fails) and maps ra/dec to pixels. */
function astropy(bytes: Uint8Array, ra: number, dec: number) {
  const path = join(tmp, `cut-${Math.random().toString(36).slice(2)}.fits`);
  writeFileSync(path, bytes);
  const script = `
import json, sys, warnings
warnings.simplefilter('error')
from astropy.io import fits
from astropy.wcs import WCS
with fits.open(sys.argv[1], checksum=True) as hl:
    out = []
    for h in hl:
        if h.data is None: continue
        w = WCS(h.header)
        x, y = w.world_to_pixel_values(float(sys.argv[2]), float(sys.argv[3]))
        ny, nx = h.data.shape[-2:]
        out.append({'shape': list(h.data.shape), 'x': float(x), 'y': float(y), 'cx': (nx - 1) / 2, 'cy': (ny - 1) / 2,
                    'dtype': str(h.data.dtype), 'sum': float(h.data.astype('float64').sum()), 'bitpix': h.header['BITPIX']})
    print(json.dumps({'hdus': len(hl), 'images': out}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, path, String(ra), String(dec)], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    hdus: number;
    images: {
      shape: number[];
      x: number;
      y: number;
      cx: number;
      cy: number;
      dtype: string;
      sum: number;
      bitpix: number;
    }[];
  };
}

const wcs = wcsFromHeader((await openFits(new BufferSource(big))).hdus[0].header)!;
const [RA, DEC] = wcs.pixToWorld([700, 1300])!;
const R = (50 * 0.5) / 3600; // 50 pixels
const full = await readImage(new BufferSource(big), (await openFits(new BufferSource(big))).hdus[0]);
const figures: string[] = [];
after(() =>
  console.log(`# cutout bytes read (100×100 int16 cutout of a 2048² image, 8 MiB):\n${figures.join('\n')}`),
);

/** Checks a cutout of the big image against the full read, and that astropy places ra/dec at its centre. */
async function checkBig(a: Answer, what: string) {
  assert.equal(a.status, 200, `${what}: ${a.body.toString().slice(0, 300)}`);
  assert.equal(a.type, 'application/fits');
  const py = astropy(a.body, RA, DEC);
  const img = py.images[0];
  assert.ok(
    Math.abs(img.x - img.cx) <= 1 && Math.abs(img.y - img.cy) <= 1,
    `${what}: ${JSON.stringify(img)}`,
  );
  const src = new BufferSource(a.body);
  const f = await openFits(src);
  const hdu = f.hdus.find((h) => h.naxes.length === 2)!;
  const cut = await readImage(src, hdu);
  const x1 = Math.round(1024.5 - hdu.header.number('CRPIX1')!);
  const y1 = Math.round(1024.5 - hdu.header.number('CRPIX2')!);
  const want = await readSection(new BufferSource(big), (await openFits(new BufferSource(big))).hdus[0], [
    { start: x1, stop: x1 + hdu.naxes[0] },
    { start: y1, stop: y1 + hdu.naxes[1] },
  ]);
  assert.deepEqual(cut.data, want.data, `${what}: pixels`);
  assert.equal(cut.dtype, 'uint16', `${what}: the stored integers with BZERO`);
  assert.ok(full.data.length > cut.data.length);
  return { py, hdu, pixelBytes: Number(a.headers.get('fitslake-pixel-bytes')) };
}

test('a CIRCLE cutout of a large plain FITS reads about the cutout’s bytes, not the file’s', async () => {
  const a = await soda([
    ['ID', KEYS.plain],
    ['CIRCLE', `${RA} ${DEC} ${R}`],
  ]);
  const { hdu, pixelBytes } = await checkBig(a, 'plain');
  assert.ok(hdu.naxes[0] >= 100 && hdu.naxes[0] <= 102, `${hdu.naxes}`);
  const read = storageRead();
  assert.equal(
    Number(a.headers.get('fitslake-bytes-read')),
    read,
    'the reported figure is what storage served',
  );
  // The rows of the box plus the header block(s) and the 3-byte sniff.
  assert.ok(read <= pixelBytes + 2 * 2880 + 3, `read ${read} for ${pixelBytes} bytes of pixels`);
  assert.ok(read < big.length / 100);
  figures.push(
    `#   plain FITS:      ${read} bytes read for ${pixelBytes} bytes of pixels (file ${big.length})`,
  );
});

test('tile-compressed (fpack 128×128): the same pixels, reading only the tiles the box touches', async () => {
  const a = await soda([
    ['ID', KEYS.tiled],
    ['POS', `CIRCLE ${RA} ${DEC} ${R}`],
  ]);
  const { py, pixelBytes } = await checkBig(a, 'tiled');
  assert.equal(py.hdus, 2, 'primary header + the cut IMAGE extension');
  assert.equal(py.images[0].bitpix, 16, 'decompressed to the original integers');
  const read = storageRead();
  const size = readFileSync(join(tmp, 'big.fits.fz')).length;
  // Headers, the tile table (256 rows) and at most 4 tiles of 128×128 (a tile compresses to ~½).
  assert.ok(read < 4 * 128 * 128 * 2 + 20 * 2880, `read ${read} of ${size}`);
  figures.push(`#   fpack 128×128:   ${read} bytes read for ${pixelBytes} bytes of pixels (file ${size})`);
});

test('gzip: decompressed from the start to the cutout’s last row, streamed; the same pixels', async () => {
  const a = await soda([
    ['ID', KEYS.gzip],
    ['CIRCLE', `${RA} ${DEC} ${R}`],
  ]);
  const { hdu, pixelBytes } = await checkBig(a, 'gzip');
  const dec = Number(a.headers.get('fitslake-bytes-decompressed'));
  const y2 = Math.round(1024.5 - hdu.header.number('CRPIX2')!) + hdu.naxes[1];
  const lastRow = 2880 + y2 * SIZE * 2;
  assert.ok(dec >= lastRow - SIZE * 2 && dec <= lastRow, `decompressed ${dec}, last row ends at ${lastRow}`);
  const read = storageRead();
  const size = gzipSync(big).length;
  // Storage is streamed in 1 MiB reads (+ the 3-byte sniff): at most the file, here all of it.
  assert.ok(read <= size + 3, `read ${read} of ${size}`);
  figures.push(
    `#   gzip:            ${read} bytes read, ${dec} decompressed for ${pixelBytes} bytes of pixels (file ${size} gz, ${big.length} plain)`,
  );
});

test('an observation’s DID cuts its bzip2 science file; PIXEL_n and POST work', async () => {
  const o = await db
    .selectFrom('observations')
    .selectAll()
    .where('obs_collection', '=', 'night')
    .where('obs_type', '=', 'EXPOSE')
    .where('id', '!=', fx.embargoed)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  const did = o.obs_publisher_did!;
  const a = await soda([
    ['ID', did],
    ['CIRCLE', `${o.s_ra} ${o.s_dec} ${10 / 3600}`],
  ]);
  assert.equal(a.status, 200, a.body.toString());
  const py = astropy(a.body, o.s_ra!, o.s_dec!);
  assert.equal(py.hdus, 1);
  const img = py.images[0];
  assert.ok(Math.abs(img.x - img.cx) <= 1 && Math.abs(img.y - img.cy) <= 1, JSON.stringify(img));
  assert.ok(img.shape[0] < 64 && img.shape[1] < 64, `${img.shape}`);
  figures.push(
    `#   bzip2 (64² sample frame): ${storageRead()} bytes read, ${a.headers.get('fitslake-bytes-decompressed')} decompressed for ${a.headers.get('fitslake-pixel-bytes')} bytes of pixels`,
  );
  // Pixel ranges, by POST form, lower-case names (DALI names are case-insensitive).
  const b = await soda(
    [
      ['id', did],
      ['pixel_1', '3 12'],
      ['PIXEL_2', '5 9'],
    ],
    undefined,
    true,
  );
  assert.equal(b.status, 200, b.body.toString());
  const f = await openFits(new BufferSource(b.body));
  assert.deepEqual(f.hdus[0].naxes, [10, 5]);
  assert.ok(f.hdus[0].header.commentary('HISTORY').join('').includes('[3:12,5:9]'));
});

test('hidden observations are NotFoundFault 404 like unknown IDs; owners and group members get cutouts', async () => {
  const e = await db
    .selectFrom('observations')
    .selectAll()
    .where('id', '=', fx.embargoed)
    .executeTakeFirstOrThrow();
  const params: [string, string][] = [
    ['ID', e.obs_publisher_did!],
    ['PIXEL_1', '1 10'],
  ];
  const unknown = await soda([
    ['ID', 'ivo://fitslake/night?no-such-frame'],
    ['PIXEL_1', '1 10'],
  ]);
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.toString(), /^NotFoundFault: /);
  assert.match(unknown.type, /^text\/plain/);
  for (const user of [undefined, 'cy'] as const) {
    const r = await soda(params, user);
    assert.equal(r.status, 404, `${user}: ${r.body}`);
    assert.match(r.body.toString(), /^NotFoundFault: /);
    assert.equal(storageRead(), 0, 'nothing read for a hidden ID');
  }
  for (const user of ['ada', 'bob', 'root'] as const)
    assert.equal((await soda(params, user)).status, 200, user);
  // The file key of a hidden file is hidden the same way; the private collection too.
  const file = await db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .select('files.key')
    .where('artifacts.observation_id', '=', fx.embargoed)
    .where('artifacts.role', '=', 'science')
    .executeTakeFirstOrThrow();
  assert.equal(
    (
      await soda([
        ['ID', file.key],
        ['PIXEL_1', '1 5'],
      ])
    ).status,
    404,
  );
  assert.equal(
    (
      await soda(
        [
          ['ID', file.key],
          ['PIXEL_1', '1 5'],
        ],
        'ada',
      )
    ).status,
    200,
  );
  const vault = await db
    .selectFrom('observations')
    .select('obs_publisher_did')
    .where('obs_collection', '=', 'vault')
    .where('obs_type', '=', 'EXPOSE')
    .executeTakeFirstOrThrow();
  assert.equal(
    (
      await soda(
        [
          ['ID', vault.obs_publisher_did!],
          ['PIXEL_1', '1 5'],
        ],
        'cy',
      )
    ).status,
    404,
  );
  assert.equal(
    (
      await soda(
        [
          ['ID', vault.obs_publisher_did!],
          ['PIXEL_1', '1 5'],
        ],
        'ada',
      )
    ).status,
    200,
  );
});

test('usage errors follow SODA: text/plain, UsageError / MultiValuedParamNotSupported, 4xx', async () => {
  const cases: [[string, string][], number, RegExp][] = [
    [[['CIRCLE', `${RA} ${DEC} ${R}`]], 400, /^UsageError: ID is required/],
    [[['ID', KEYS.plain]], 400, /^UsageError: give a cutout/],
    [
      [
        ['ID', KEYS.plain],
        ['CIRCLE', '1 2'],
      ],
      400,
      /^UsageError: CIRCLE/,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['CIRCLE', `400 0 1`],
      ],
      400,
      /^UsageError: CIRCLE: right ascension/,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['POS', 'BOX 1 2 3 4'],
      ],
      400,
      /^UsageError: POS must start/,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['POLYGON', '1 2 3 4'],
      ],
      400,
      /^UsageError: POLYGON/,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['PIXEL_1', '5 2'],
      ],
      400,
      /^UsageError: PIXEL_1/,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['TIME', '59000 59001'],
      ],
      400,
      /^UsageError: TIME/,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['CIRCLE', `${RA + 90} ${DEC} ${R}`],
      ],
      400,
      /^UsageError: NoOverlap: /,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['PIXEL_1', '3000 3100'],
      ],
      400,
      /^UsageError: NoOverlap: /,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['BAND', '1e-3 2e-3'],
      ],
      200,
      /^SIMPLE/,
    ], // no spectral axis, no em range: whole image
    [
      [
        ['ID', KEYS.plain],
        ['CIRCLE', `${RA} ${DEC} ${R}`],
        ['CIRCLE', `${RA} ${DEC} ${R}`],
      ],
      400,
      /^MultiValuedParamNotSupported: /,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['CIRCLE', `${RA} ${DEC} ${R}`],
        ['POS', `CIRCLE ${RA} ${DEC} ${R}`],
      ],
      400,
      /^MultiValuedParamNotSupported: /,
    ],
    [
      [
        ['ID', KEYS.plain],
        ['ID', KEYS.tiled],
        ['PIXEL_1', '1 2'],
      ],
      400,
      /^MultiValuedParamNotSupported: /,
    ],
    [
      [
        ['ID', 'night/nope.fits'],
        ['PIXEL_1', '1 2'],
      ],
      404,
      /^NotFoundFault: /,
    ],
    [
      [
        ['ID', '../etc/passwd'],
        ['PIXEL_1', '1 2'],
      ],
      404,
      /^NotFoundFault: /,
    ],
  ];
  for (const [params, status, text] of cases) {
    const r = await soda(params);
    assert.equal(r.status, status, `${JSON.stringify(params)}: ${r.body.toString().slice(0, 200)}`);
    assert.match(r.body.toString('latin1').slice(0, 200), text, JSON.stringify(params));
    if (status !== 200) assert.match(r.type, /^text\/plain/);
  }
  // BAND against an observation whose passband (from FILTER) it misses: no overlap.
  const o = await db
    .selectFrom('observations')
    .selectAll()
    .where('obs_collection', '=', 'night')
    .where('obs_type', '=', 'EXPOSE')
    .where('id', '!=', fx.embargoed)
    .where('em_min', 'is not', null)
    .executeTakeFirstOrThrow();
  const miss = await soda([
    ['ID', o.obs_publisher_did!],
    ['BAND', '1e-3 2e-3'],
  ]);
  assert.equal(miss.status, 400);
  assert.match(miss.body.toString(), /^UsageError: NoOverlap: /);
  const hit = await soda([
    ['ID', o.obs_publisher_did!],
    ['BAND', `${o.em_min} ${o.em_max}`],
  ]);
  assert.equal(hit.status, 200);
});
