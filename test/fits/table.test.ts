import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { type Cell, readColumn, readGroup, readRows, tableLayout } from '../../src/fits/table.ts';
import { truth } from '../util/corpus.ts';
import { corpusHdus } from '../util/corpus-hdus.ts';
import { decompressed } from '../util/decompress.ts';
import { fsum } from '../util/stats.ts';

function flatten(v: Cell): Cell[] {
  return Array.isArray(v) &&
    !(v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' && false)
    ? (v as Cell[]).flatMap((x) => (Array.isArray(x) ? flatten(x as Cell) : [x]))
    : [v];
}

/** astropy's cell (via truth.py's jnum/cap_cell) against ours. */
function sameCell(ours: Cell, theirs: unknown, where: string): void {
  if (theirs && typeof theirs === 'object' && 'n_elements' in theirs) {
    const t = theirs as { n_elements: number; first_elements: unknown[] };
    const flat = flatten(ours);
    assert.equal(flat.length, t.n_elements, `${where}: element count`);
    for (const [i, x] of t.first_elements.entries()) sameCell(flat[i], x, `${where}[${i}]`);
    return;
  }
  // A variable-length character array (PA) reads as one string; astropy gives single characters.
  if (Array.isArray(theirs) && typeof ours === 'string') {
    assert.equal(ours, theirs.join(''), where);
    return;
  }
  if (Array.isArray(theirs)) {
    assert.ok(Array.isArray(ours), `${where}: expected an array, got ${JSON.stringify(ours)}`);
    assert.equal((ours as Cell[]).length, theirs.length, `${where}: length`);
    for (const [i, x] of theirs.entries()) sameCell((ours as Cell[])[i], x, `${where}[${i}]`);
    return;
  }
  // astropy strips trailing blanks from scalar strings but not from elements of TDIM string arrays
  // (numpy chararray.tolist()); trailing blanks are insignificant in FITS (§7.3.3.1), so we strip both.
  if (typeof theirs === 'string' && typeof ours === 'string') {
    assert.equal(ours, theirs.trimEnd(), where);
    return;
  }
  // An ASCII-table field equal to TNULL is null for us; astropy fills it with 0, which is a value.
  if (ours === null && theirs === 0) return;
  if (theirs === 'NaN') {
    assert.ok(Number.isNaN(ours as number), `${where}: NaN`);
    return;
  }
  if (typeof theirs === 'string' && /^-?\d+$/.test(theirs) && typeof ours === 'bigint') {
    assert.equal(ours, BigInt(theirs), where);
    return;
  }
  if (typeof theirs === 'number' && typeof ours === 'number') {
    assert.ok(
      ours === theirs || Math.abs(ours - theirs) <= 1e-6 * Math.abs(theirs),
      `${where}: ${ours} vs ${theirs}`,
    );
    return;
  }
  assert.deepEqual(ours, theirs, where);
}

test('every corpus table reads as astropy reads it (first rows, column sums, VLA lengths)', async () => {
  let tables = 0;
  const forms = new Set<string>();
  for await (const { rel, index: i, th, hdu: h, bytes } of corpusHdus()) {
    if (!th.table?.first_rows || (h.kind !== 'bintable' && h.kind !== 'table')) continue;
    const src = new BufferSource(bytes, rel);
    const layout = tableLayout(h);
    assert.equal(layout.nrows, th.table.nrows, `${rel} HDU ${i} rows`);
    const rows = await readRows(src, h, 0, th.table.first_rows.length);
    for (const [r, trow] of th.table.first_rows.entries()) {
      for (const [name, v] of Object.entries(trow)) {
        if (v && typeof v === 'object' && 'error' in v) continue;
        sameCell(rows[r][name], v, `${rel} HDU ${i} row ${r} ${name}`);
      }
    }
    for (const c of layout.columns)
      forms.add((c.binary?.vla ? `P${c.binary.vla.code}` : c.binary?.code) ?? `ascii-${c.ascii!.code}`);
    for (const [name, st] of Object.entries(th.table.column_stats ?? {}) as [
      string,
      Record<string, unknown>,
    ][]) {
      if (layout.nrows > 200000) continue;
      const col = await readColumn(src, h, name);
      if (st.vla_lengths_first) {
        const lens = col.map((x) => (typeof x === 'string' ? x.length : (x as Cell[]).length));
        assert.deepEqual(
          lens.slice(0, (st.vla_lengths_first as number[]).length),
          st.vla_lengths_first,
          `${rel} ${name} VLA lengths`,
        );
        continue;
      }
      if (st.sum === undefined) continue;
      const flat = col.flatMap((x) => flatten(x)).map((x) => (typeof x === 'boolean' ? Number(x) : x));
      if (flat.some((x) => typeof x === 'bigint') || typeof st.sum === 'string') {
        assert.equal(
          flat.reduce((a: bigint, b) => a + BigInt(b as number), 0n),
          BigInt(st.sum as string),
          `${rel} ${name} sum`,
        );
      } else {
        const s = fsum((flat as number[]).filter((x) => Number.isFinite(x)));
        const ts = st.sum as number;
        assert.ok(
          Math.abs(s - ts) <= 1e-6 * Math.max(1, Math.abs(ts)),
          `${rel} HDU ${i} ${name} sum ${s} vs ${ts}`,
        );
      }
    }
    tables++;
  }
  assert.ok(tables >= 20, `only ${tables} tables`);
  for (const f of [
    'L',
    'X',
    'B',
    'I',
    'J',
    'K',
    'A',
    'E',
    'D',
    'C',
    'M',
    'PJ',
    'PD',
    'PA',
    'ascii-A',
    'ascii-I',
    'ascii-F',
    'ascii-E',
  ]) {
    assert.ok(forms.has(f) || (f === 'PD' && forms.has('PE')), `no ${f} column checked (have ${[...forms]})`);
  }
});

test('random groups: parameters and data of the first group as astropy gives them', async () => {
  for (const rel of ['fits/group.fits', 'synthetic/random_groups.fits']) {
    const t = truth(rel);
    const g = t.hdus[0].groups;
    const bytes = decompressed(rel);
    const fits = await openFits(new BufferSource(bytes));
    const h = fits.hdus[0];
    assert.equal(h.kind, 'groups');
    assert.equal(h.gcount, g.gcount);
    const first = await readGroup(new BufferSource(bytes), h, 0);
    assert.deepEqual(first.names, g.parnames);
    for (const [k, v] of (g.first_group_params as unknown[]).entries()) {
      sameCell(first.params[k], v, `${rel} parameter ${k}`);
    }
    const firstValues = g.data_stats.first_values as unknown[];
    for (const [i, v] of firstValues.slice(0, first.data.length).entries())
      sameCell(first.data[i], v, `${rel} data ${i}`);
  }
});

test('corrupt table descriptors fail with a typed error, not a crash', async () => {
  const bytes = decompressed('synthetic/tables_alltypes.fits').slice();
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus[1];
  const layout = tableLayout(h);
  const vla = layout.columns.find((c) => c.binary?.code === 'P')!;
  new DataView(bytes.buffer).setInt32(h.dataOffset + vla.offset + 4, 1e9);
  await assert.rejects(
    readRows(new BufferSource(bytes), h, 0, 1),
    (e: Error) => e.name === 'FitsError' && /heap/.test(e.message),
  );
});
