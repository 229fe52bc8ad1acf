// One TAP query, sync or async: parameters checked (LANG, QUERY, FORMAT/RESPONSEFORMAT, MAXREC,
// UPLOAD), ADQL translated against the caller's tables, run read-only in the caller's sandbox, and
// written in the asked format with the overflow indicator when MAXREC cut it.
import type { Visibility } from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { QueryError, readOnlyQuery } from '../../catalog/readonly.ts';
import { AdqlError, type Translation, translateAdql } from './adql/index.ts';
import { type OutColumn, outColumns } from './columns.ts';
import { tapMetadata } from './metadata.ts';
import { type OutputFormat, outputFormat, writeResult } from './votable.ts';

/** A problem with the request or the query: a VOTable error document with HTTP 400. */
export class TapError extends Error {
  override name = 'TapError';
}

export interface TapLimits {
  /** Rows returned when MAXREC is not given. */
  defaultMaxrec: number;
  /** Rows returned at most, whatever MAXREC says. */
  hardMaxrec: number;
}

/** Upper-case parameter name → first value. */
export type TapParams = Record<string, string>;

export interface CheckedQuery {
  query: string;
  format: OutputFormat;
  maxrec: number;
}

const LANGS = new Set(['ADQL', 'ADQL-2.0', 'ADQL-2.1']);

/** Validates a query's parameters (a sync request, an async job when it runs). */
export function checkParams(p: TapParams, limits: TapLimits): CheckedQuery {
  if (p.UPLOAD !== undefined && p.UPLOAD !== '')
    throw new TapError('UPLOAD is not supported by this service (no table uploads)');
  const lang = p.LANG;
  if (lang === undefined || lang === '') throw new TapError('LANG is required (LANG=ADQL)');
  if (!LANGS.has(lang.toUpperCase()))
    throw new TapError(`LANG=${lang} is not supported: this service speaks ADQL (ADQL 2.1) only`);
  const query = p.QUERY ?? '';
  if (query.trim() === '') throw new TapError('QUERY is required');
  const fmtValue = p.RESPONSEFORMAT ?? p.FORMAT;
  const format = outputFormat(fmtValue);
  if (!format)
    throw new TapError(
      `FORMAT=${fmtValue} is not supported: use votable, votable/td, votable/b2, csv, tsv, json or fits`,
    );
  let maxrec = limits.defaultMaxrec;
  if (p.MAXREC !== undefined && p.MAXREC !== '') {
    if (!/^\s*\+?\d+\s*$/.test(p.MAXREC))
      throw new TapError(`MAXREC must be a non-negative integer (got ${p.MAXREC})`);
    maxrec = Math.min(Number(p.MAXREC), limits.hardMaxrec);
  }
  return { query, format, maxrec };
}

export interface RunOptions {
  catalog: Catalog;
  visibility: Visibility;
  /** The service's absolute URL, compiled into ObsCore access_url. */
  base: string;
  timeoutMs: number;
  /** Stops the query (UWS ABORT, a deleted job): its SQL is cancelled, not left to run. */
  signal?: AbortSignal;
  /** Adjusts the result's column metadata (cone search marks its ID and position columns). */
  columns?: (columns: OutColumn[]) => OutColumn[];
}

export interface TapResult {
  body: Buffer;
  format: OutputFormat;
  rows: number;
  overflow: boolean;
}

/** Runs a checked query; TapError for anything the caller got wrong. */
export async function runQuery(q: CheckedQuery, opts: RunOptions): Promise<TapResult> {
  const meta = await tapMetadata(opts.catalog, opts.visibility, opts.base);
  let translation: Translation;
  try {
    // The SQL reads one row past MAXREC: its presence is the overflow.
    translation = translateAdql(q.query, {
      dialect: opts.catalog.dialect,
      resolve: meta.resolve,
      maxrec: q.maxrec,
    });
  } catch (err) {
    if (err instanceof AdqlError) throw new TapError(`ADQL error at ${err.message}`);
    throw err;
  }
  let result: Awaited<ReturnType<typeof readOnlyQuery>>;
  try {
    result = await readOnlyQuery(
      opts.catalog,
      translation.sql,
      { timeoutMs: opts.timeoutMs, maxRows: q.maxrec + 1, ...(opts.signal ? { signal: opts.signal } : {}) },
      opts.visibility,
    );
  } catch (err) {
    if (err instanceof QueryError)
      throw new TapError(
        err.code === 'timeout'
          ? `the query ran longer than the limit of ${Math.round(opts.timeoutMs / 1000)} s`
          : `the query failed: ${err.message}`,
      );
    throw err;
  }
  const overflow = result.truncated || result.rows.length > q.maxrec;
  const rows = result.rows.slice(0, q.maxrec);
  const cols = translation.columns;
  // Cells by the translator's column names; by position when the engine named them otherwise.
  const byName = rows.length === 0 || cols.every((c) => c.name in rows[0]);
  const keys = byName ? cols.map((c) => c.name) : result.columns;
  const cells = rows.map((r) => keys.map((k) => r[k]));
  const named = cells.map((r) => Object.fromEntries(cols.map((c, i) => [c.name, r[i]])));
  const described = outColumns(cols, named);
  const columns = opts.columns ? opts.columns(described) : described;
  const body = writeResult(q.format, {
    columns,
    rows: cells,
    overflow,
    infos: [{ name: 'QUERY', value: '', content: q.query }],
  });
  return { body, format: q.format, rows: rows.length, overflow };
}
