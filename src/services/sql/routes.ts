import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { keepQueryProcessWarm, readOnlyQuery } from '../../catalog/readonly.ts';
import { formatRows, OUTPUT_FORMATS } from '../formats.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';

const CONTENT_TYPES = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  votable: 'application/x-votable+xml',
  parquet: 'application/vnd.apache.parquet',
  table: 'text/plain; charset=utf-8',
} as const;

const body = z.object({
  sql: z.string().min(1).max(100_000).describe('One SELECT, WITH or VALUES statement'),
  format: z.enum(OUTPUT_FORMATS as unknown as [string, ...string[]]).default('json'),
  timeoutMs: z.number().int().min(1).optional().describe('Lowered to the server limit when above it'),
  maxRows: z.number().int().min(1).optional().describe('Lowered to the server limit when above it'),
});

/**
 * `POST /api/sql`: the caller's SQL over the catalog — read-only, time- and row-limited, and seeing
 * only the rows the caller may see (the catalog's tables are replaced by views of them).
 */
export async function sqlRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const limits = ctx.lake.loaded.config.server;
  if (ctx.lake.catalog.dialect === 'sqlite') keepQueryProcessWarm();
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/sql',
    {
      schema: {
        summary: 'Run a read-only SQL query over the catalog (rows the caller may see only)',
        body,
        response: {
          200: z
            .object({
              columns: z.array(z.string()),
              rows: z.array(z.record(z.string(), z.unknown())),
              truncated: z.boolean(),
            })
            .describe('format=json; other formats return their own media type'),
          400: errorSchema,
          403: errorSchema,
          408: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { sql, format, timeoutMs, maxRows } = request.body;
      const result = await readOnlyQuery(
        ctx.lake.catalog,
        sql,
        {
          timeoutMs: Math.min(timeoutMs ?? limits.sqlTimeoutMs, limits.sqlTimeoutMs),
          maxRows: Math.min(maxRows ?? limits.sqlMaxRows, limits.sqlMaxRows),
        },
        await request.visibility(),
      );
      reply.header('x-truncated', String(result.truncated));
      if (format === 'json') return result;
      const out = formatRows(result.rows, result.columns, format as 'csv' | 'parquet');
      // Buffers go out as they are (the JSON serializer of the schema applies to format=json only).
      return reply
        .type(CONTENT_TYPES[format as keyof typeof CONTENT_TYPES])
        .send(
          (typeof out === 'string'
            ? Buffer.from(out, 'utf8')
            : Buffer.from(out.buffer, out.byteOffset, out.byteLength)) as never,
        );
    },
  );
}
