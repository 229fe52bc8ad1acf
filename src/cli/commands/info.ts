import { verifyChecksums } from '../../fits/checksum.ts';
import { openFits } from '../../fits/fits-file.ts';
import { type Hdu, logicalHeader, logicalShape } from '../../fits/hdu.ts';
import { type SpectralAxis, spectralAxis } from '../../fits/spectral.ts';
import { type ObservationTime, observationTime } from '../../fits/time.ts';
import { describeWcs, type WcsSummary } from '../../fits/wcs/summary.ts';
import { openSource } from '../../io/open.ts';
import { eachFile } from '../each-file.ts';
import { stringify, warningJson } from '../json.ts';
import type { Output } from '../output.ts';

export interface InfoOptions {
  json?: boolean;
  checksum?: boolean;
  strict?: boolean;
}

interface HduInfo {
  index: number;
  kind: Hdu['kind'];
  name: string | null;
  shape: number[];
  bitpix: number;
  headerOffset: number;
  dataOffset: number;
  dataSize: number;
  dataSpan: number;
  checksum: 'ok' | 'bad' | 'absent' | 'skipped';
  datasum: 'ok' | 'bad' | 'absent' | 'skipped';
  wcs: WcsSummary | null;
  time: ObservationTime | null;
  spectral: SpectralAxis | null;
}

/** `fitslake info`: one line per HDU (or JSON): kind, shape, offsets, checksums, WCS. */
export async function infoCommand(files: string[], opts: InfoOptions, io: Output): Promise<number> {
  return eachFile(files, opts.json, io, async (file, source) => {
    const fits = await openFits(source, { mode: opts.strict ? 'strict' : 'tolerant' });
    const hdus: HduInfo[] = [];
    // Verifying a checksum reads every data byte: by default for local files, not for a remote
    // URL (think of a 44 GB cube) unless --checksum asks for it.
    const verify = (opts.checksum ?? !/^https?:\/\//i.test(file)) && !fits.headerOnly;
    // A gzip/bzip2 stream cannot seek back: checksums take a second pass over a fresh stream,
    // in HDU order (offsets only increase, so one pass serves every HDU).
    const sequential = (source as { sequential?: boolean }).sequential;
    const sumSource = verify && sequential ? await openSource(file) : source;
    for (const h of fits.hdus) {
      const header = logicalHeader(h);
      const sums = verify ? await verifyChecksums(sumSource, h) : { checksum: 'skipped', datasum: 'skipped' };
      const shape = logicalShape(h);
      hdus.push({
        index: h.index,
        kind: h.kind,
        name: h.extname ?? null,
        shape,
        bitpix: header.int('BITPIX') ?? h.bitpix,
        headerOffset: h.headerOffset,
        dataOffset: h.dataOffset,
        dataSize: h.dataSize,
        dataSpan: h.dataSpan,
        checksum: sums.checksum as HduInfo['checksum'],
        datasum: sums.datasum as HduInfo['datasum'],
        wcs: isImage(h) ? describeWcs(header, shape) : null,
        time: observationTime(header) ?? null,
        spectral: isImage(h) ? (spectralAxis(header, shape) ?? null) : null,
      });
    }
    if (sumSource !== source) await sumSource.close?.();
    if (opts.json) {
      io.out(stringify({ file, size: fits.size, warnings: fits.warnings.map(warningJson), hdus }));
    } else {
      io.out(
        `${file}: ${fits.hdus.length} HDU${fits.hdus.length === 1 ? '' : 's'}, ${fits.size ?? '?'} bytes`,
      );
      io.out(table(hdus));
      for (const w of fits.warnings) io.err(`${file}: warning: ${w.message}`);
    }
  });
}

const isImage = (h: Hdu) => h.kind === 'primary' || h.kind === 'image' || h.kind === 'compressed-image';

function table(rows: HduInfo[]): string {
  const head = [
    '#',
    'kind',
    'name',
    'shape',
    'bitpix',
    'header@',
    'data@',
    'span',
    'checksum',
    'datasum',
    'wcs centre',
  ];
  const body = rows.map((r) => [
    String(r.index),
    r.kind,
    r.name ?? '',
    r.shape.length ? r.shape.join('x') : '-',
    String(r.bitpix),
    String(r.headerOffset),
    String(r.dataOffset),
    String(r.dataSpan),
    r.checksum,
    r.datasum,
    r.wcs ? `${r.wcs.projection} ${r.wcs.center[0].toFixed(6)} ${r.wcs.center[1].toFixed(6)}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body]
    .map((cols) =>
      cols
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
