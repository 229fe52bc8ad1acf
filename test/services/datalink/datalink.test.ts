// DataLink over real HTTP on a lake the real worker ingested: the links of a visible observation
// with their semantics, the SODA service descriptor, calibration frames, unknown and hidden IDs as
// NotFoundFault rows (no leak), and the document parsed by astropy (verify='exception') and used by
// pyvo's DataLink client to run a cutout through the descriptor.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { datalinkRoutes } from '../../../src/services/datalink/routes.ts';
import { restFiles } from '../../../src/services/rest/files.ts';
import { sodaRoutes } from '../../../src/services/soda/routes.ts';
import { populatedLake } from '../rest/fixture.ts';

const fx = await populatedLake([datalinkRoutes, sodaRoutes, restFiles]);
after(() => fx.close());
const db = fx.lake.catalog.db;

interface Row {
  ID: string;
  access_url: string;
  service_def: string;
  error_message: string;
  semantics: string;
  description: string;
  content_type: string;
  content_length: number | null;
  local_semantics: string;
}
interface Parsed {
  rows: Row[];
  services: {
    id: string;
    params: Record<string, string>;
    inputs: Record<string, { value: string; ucd: string; unit: string; xtype: string; datatype: string }>;
  }[];
}

/** astropy parses the document with verify='exception' (any VOTable warning fails) and lists it. */
function parse(xml: string): Parsed {
  const script = `
import io, json, sys
from astropy.io.votable import parse
v = parse(io.BytesIO(sys.stdin.buffer.read()), verify='exception')
t = v.get_first_table().to_table()
rows = [{c: (None if hasattr(r[c], 'mask') and r[c] is __import__('numpy').ma.masked else (int(r[c]) if c == 'content_length' else str(r[c]))) for c in t.colnames} for r in t]
services = []
for res in v.resources:
    if res.type == 'meta' and res.utype == 'adhoc:service':
        inputs = {}
        for g in res.groups:
            if g.name == 'inputParams':
                for p in g.entries:
                    inputs[p.name] = {'value': str(p.value), 'ucd': p.ucd, 'unit': str(p.unit) if p.unit else '', 'xtype': p.xtype, 'datatype': p.datatype}
        services.append({'id': res.ID, 'params': {p.name: str(p.value) for p in res.params}, 'inputs': inputs})
print(json.dumps({'rows': rows, 'services': services}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: xml, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Parsed;
}

async function datalink(ids: string[], user?: Parameters<typeof fx.auth>[0]) {
  const qs = ids.map((i) => `ID=${encodeURIComponent(i)}`).join('&');
  const r = await fetch(`${fx.srv.url}/datalink?${qs}`, { headers: fx.auth(user) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

const science = await db
  .selectFrom('observations')
  .selectAll()
  .where('obs_collection', '=', 'night')
  .where('obs_type', '=', 'EXPOSE')
  .where('id', '!=', fx.embargoed)
  .where('status', '=', 'complete')
  .orderBy('id')
  .executeTakeFirstOrThrow();
const did = science.obs_publisher_did!;

test('a visible observation’s links: #this, previews, auxiliary, calibration, and a SODA #cutout', async () => {
  const r = await datalink([did]);
  assert.equal(r.status, 200);
  assert.equal(r.type, 'application/x-votable+xml;content=datalink');
  const { rows, services } = parse(r.text);
  assert.ok(rows.every((x) => x.ID === did));
  const by = (s: string) => rows.filter((x) => x.semantics === s);
  const [self] = by('#this');
  assert.ok(self, JSON.stringify(rows, null, 1));
  assert.equal(rows[0].semantics, '#this', '#this comes first');
  assert.equal(self.content_type, 'application/fits');
  assert.match(self.access_url, new RegExp(`^${fx.srv.url}/api/files/night/`));
  const bytes = Buffer.from(await (await fetch(self.access_url)).arrayBuffer());
  assert.equal(bytes.length, self.content_length, 'content_length is the file’s size');
  // The pipeline's own pictures, and those fitslake rendered.
  assert.ok(by('#preview').some((x) => x.local_semantics === 'preview' && x.content_type === 'image/jpeg'));
  assert.ok(by('#thumbnail').some((x) => x.local_semantics === 'thumbnail'));
  assert.equal(by('#derivation').length, 1, 'the small FITS copy');
  assert.ok(by('#auxiliary').some((x) => x.local_semantics === 'header' && x.content_type === 'text/plain'));
  const json = by('#auxiliary').find((x) => x.local_semantics === 'header-json')!;
  const jr = await fetch(json.access_url);
  await jr.arrayBuffer();
  assert.equal(jr.headers.get('content-type')?.split(';')[0], 'application/json');
  for (const x of rows.filter((x) => x.access_url && x.access_url !== 'None')) {
    const res = await fetch(x.access_url);
    await res.arrayBuffer();
    assert.equal(res.status, 200, x.access_url);
  }
  // Calibration frames the header names, each a downloadable FITS.
  const cal = by('#calibration');
  assert.deepEqual(cal.map((x) => x.local_semantics).sort(), ['bias', 'dark', 'flat']);
  assert.ok(cal.every((x) => x.content_type === 'application/fits'));
  // The cutout row points at a service descriptor advertising SODA and its parameters.
  const [cut] = by('#cutout');
  assert.ok(cut.service_def && cut.service_def !== 'None');
  const svc = services.find((s) => s.id === cut.service_def)!;
  assert.ok(svc, `descriptor ${cut.service_def}`);
  assert.equal(svc.params.standardID, 'ivo://ivoa.net/std/SODA#sync-1.0');
  assert.equal(svc.params.accessURL, `${fx.srv.url}/soda`);
  assert.equal(svc.inputs.ID.value, did);
  assert.equal(svc.inputs.CIRCLE.xtype, 'circle');
  assert.equal(svc.inputs.CIRCLE.unit, 'deg');
  assert.equal(svc.inputs.POLYGON.xtype, 'polygon');
  assert.equal(svc.inputs.BAND.unit, 'm');
  assert.equal(svc.inputs.BAND.xtype, 'interval');
  assert.ok(svc.inputs.POS && svc.inputs.PIXEL_1 && svc.inputs.PIXEL_2);
  assert.ok(
    rows.every((x) => x.error_message === 'None' || x.error_message === '' || x.error_message === null),
  );
});

test('unknown and hidden IDs give a NotFoundFault row and nothing else; several IDs in one call', async () => {
  const e = await db
    .selectFrom('observations')
    .selectAll()
    .where('id', '=', fx.embargoed)
    .executeTakeFirstOrThrow();
  const vault = await db
    .selectFrom('observations')
    .select('obs_publisher_did')
    .where('obs_collection', '=', 'vault')
    .executeTakeFirstOrThrow();
  const ids = [did, e.obs_publisher_did!, 'ivo://fitslake/night?no-such-frame', vault.obs_publisher_did!];
  const anon = parse((await datalink(ids)).text).rows;
  for (const id of ids.slice(1)) {
    const mine = anon.filter((x) => x.ID === id);
    assert.equal(mine.length, 1, id);
    assert.match(mine[0].error_message, /^NotFoundFault: /);
    assert.equal(mine[0].error_message, `NotFoundFault: ${id}: no such dataset`, 'hidden reads as unknown');
    assert.ok(!mine[0].access_url || mine[0].access_url === 'None');
  }
  assert.ok(anon.filter((x) => x.ID === did).length > 5);
  // The owner sees the embargoed observation's links, a group member too; the private collection's owner its own.
  for (const user of ['ada', 'bob'] as const) {
    const rows = parse((await datalink([e.obs_publisher_did!], user)).text).rows;
    assert.ok(
      rows.some((x) => x.semantics === '#this'),
      user,
    );
  }
  assert.ok(
    parse((await datalink([vault.obs_publisher_did!], 'ada')).text).rows.some((x) => x.semantics === '#this'),
  );
  // An embargoed calibration target is left out for those who may not see it.
  // A file key is an ID too.
  const self = anon.find((x) => x.ID === did && x.semantics === '#this')!;
  const key = decodeURIComponent(new URL(self.access_url).pathname.slice('/api/files/'.length));
  const byKey = parse((await datalink([key])).text).rows;
  assert.deepEqual(
    byKey.map((x) => x.semantics),
    ['#this', '#auxiliary', '#cutout'],
  );
  const bad = await datalink([]);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /^UsageError: /);
});

test('pyvo’s DataLink client finds #this and runs a cutout through the service descriptor', async () => {
  const script = `
import json, sys, warnings
from astropy.io import fits
from pyvo.dal.adhoc import DatalinkResults
dl = DatalinkResults.from_result_url(sys.argv[1] + '/datalink?ID=' + __import__('urllib.parse').parse.quote(sys.argv[2]))
this = next(r for r in dl if r.semantics == '#this')  # bysemantics fetches a vocabulary online
proc = next(dl.iter_procs())
f = proc.processed(circle=(float(sys.argv[3]), float(sys.argv[4]), 8 / 3600))
data = f.read()
with fits.open(__import__('io').BytesIO(data), checksum=True) as hl:
    print(json.dumps({'this': this.access_url, 'shape': list(hl[0].data.shape)}))
`;
  // Asynchronously: python calls this process's server, which must keep serving meanwhile.
  const r = await promisify(execFile)('/usr/bin/python3', [
    '-c',
    script,
    fx.srv.url,
    did,
    String(science.s_ra),
    String(science.s_dec),
  ]);
  const out = JSON.parse(r.stdout) as { this: string; shape: number[] };
  assert.match(out.this, /\/api\/files\/night\//);
  assert.ok(out.shape[0] > 5 && out.shape[0] < 64, `${out.shape}`);
});
