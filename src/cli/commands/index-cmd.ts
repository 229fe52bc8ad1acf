import { buildIndex, formatOf } from '../../cloud/indexer.ts';
import type { Output } from '../output.ts';

export interface IndexCmdOptions {
  out: string;
  dataUrlPrefix?: string;
  format?: string;
  include?: string;
  endpoint?: string;
  region?: string;
  signRequest?: boolean;
  requestPayer?: boolean;
  concurrency?: string;
  /** commander: --gzip-checkpoints true, --no-gzip-checkpoints false, neither: auto. */
  gzipCheckpoints?: boolean;
  checkpointSpan?: string;
  json?: boolean;
}

/**
 * `fitslake index SOURCE --out TARGET`: index FITS files where they lie (a folder, s3://bucket/prefix,
 * or a file listing http(s) URLs) into a cloud index; unchanged files keep their previous entries.
 */
export async function indexCommand(source: string, opts: IndexCmdOptions, io: Output): Promise<number> {
  const format = opts.format ?? formatOf(opts.out);
  if (format !== 'json' && format !== 'parquet') {
    io.err(`fitslake index: --format must be json or parquet (got ${JSON.stringify(format)})`);
    return 2;
  }
  const span = opts.checkpointSpan === undefined ? undefined : Number(opts.checkpointSpan);
  if (span !== undefined && !(Number.isInteger(span) && span >= 32768)) {
    io.err(`fitslake index: --checkpoint-span must be an integer ≥ 32768 (got ${opts.checkpointSpan})`);
    return 2;
  }
  const { doc, stats } = await buildIndex(source, {
    out: opts.out,
    format,
    ...(opts.dataUrlPrefix ? { dataUrlPrefix: opts.dataUrlPrefix } : {}),
    ...(opts.include ? { include: new RegExp(opts.include, 'i') } : {}),
    ...(opts.concurrency ? { concurrency: Number(opts.concurrency) } : {}),
    gzipCheckpoints: opts.gzipCheckpoints ?? 'auto',
    ...(span !== undefined ? { checkpointSpan: span } : {}),
    s3: {
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.region ? { region: opts.region } : {}),
      // commander: --no-sign-request sets signRequest=false; --sign-request true; neither: auto.
      ...(opts.signRequest !== undefined ? { anonymous: !opts.signRequest } : {}),
      ...(opts.requestPayer ? { requestPayer: true } : {}),
    },
    log: (line) => io.err(line),
  });
  const hdus = doc.files.reduce((a, f) => a + f.hdus.length, 0);
  if (opts.json) io.out(JSON.stringify({ out: opts.out, format, hdus, ...stats }));
  else
    io.out(
      `wrote ${opts.out} (${format}): ${stats.files} files, ${hdus} HDUs; ${stats.indexed} read, ` +
        `${stats.reused} unchanged, ${stats.removed} removed, ${stats.failed} failed; ${stats.bytesRead} bytes read` +
        (stats.checkpointed
          ? `; gzip checkpoints for ${stats.checkpointed} files (${stats.checkpointBytesWritten} bytes)`
          : ''),
    );
  return stats.failed ? 1 : 0;
}
