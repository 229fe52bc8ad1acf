import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Caller,
  catalogCollections,
  type CollectionLister,
  type Visibility,
  visibilityFor,
} from '../../catalog/access.ts';
import type { Lake } from '../../lake/lake.ts';
import { Authenticator } from './auth.ts';
import { type ErrorBody, sendError } from './errors.ts';
import { registerMetrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling (set before any handler runs). */
    caller: Caller;
    /** What the caller may see, computed once per request. */
    visibility(): Promise<Visibility>;
  }
}

/** What every route plugin gets: the lake and the access rule's inputs. */
export interface ServerContext {
  lake: Lake;
  collections: CollectionLister;
}

export interface ServerOptions {
  lake: Lake;
  /** Pino logger options, or false (tests). Default: info-level JSON request logs. */
  logger?: FastifyServerOptions['logger'];
  /** Requests per minute per client address (default 6000; 0 turns the limit off). */
  rateLimit?: number;
  /** Largest JSON body (default 1 MiB); uploads stream and are not bound by it. */
  bodyLimit?: number;
  /** Route plugins (REST, SQL, events, TAP…), registered with the context. */
  plugins?: ((app: FastifyInstance, ctx: ServerContext) => Promise<void> | void)[];
}

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/**
 * The HTTP server: Fastify with zod route schemas (every input validated, and the OpenAPI document
 * generated from the same schemas), the caller resolved before any handler, one error shape
 * `{"error": {"code", "message"}}`, security headers, a rate limit, request logs and metrics.
 */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { lake } = opts;
  const app = Fastify({
    logger: opts.logger ?? {
      level: 'info',
      // Tokens may travel as ?access_token= (EventSource cannot send headers): never log them.
      serializers: {
        req: (req: { method: string; url: string; ip?: string }) => ({
          method: req.method,
          url: req.url.replace(/([?&]access_token=)[^&]*/g, '$1…'),
          ip: req.ip,
        }),
      },
    },
    bodyLimit: opts.bodyLimit ?? 1 << 20,
    // Requests in flight finish on close; new ones get 503.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    // Errors the router raises before any route (a bad URL, a parameter over maxParamLength) get the
    // one error shape too, not Fastify's own.
    frameworkErrors: (err, request, reply) => {
      sendError(reply, request, err);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fitslake',
        version: '0.1.0',
        description: 'A data lake for FITS astronomy files: search, files, headers, SQL, live events.',
      },
      components: {
        securitySchemes: {
          token: { type: 'http', scheme: 'bearer', description: '`fitslake token create USER`' },
        },
      },
      security: [{ token: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(helmet, {
    // The web UI (a later issue) ships its own assets; no inline scripts, no third-party origins.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        connectSrc: ["'self'"],
        // Served over plain HTTP on loopback or behind a TLS proxy: never rewrite to https itself.
        upgradeInsecureRequests: null,
      },
    },
    // TLS (and so HSTS) belongs to the proxy in front, when there is one.
    strictTransportSecurity: false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  const perMinute = opts.rateLimit ?? 6000;
  if (perMinute > 0)
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: 60_000,
      errorResponseBuilder: (_req, ctx) => ({
        statusCode: 429,
        error: {
          code: 'rate-limited',
          message: `more than ${ctx.max} requests per minute; retry in ${ctx.after}`,
        },
      }),
    });

  const auth = new Authenticator(lake.catalog);
  const collections = catalogCollections(lake.catalog, lake.loaded.config.collections);
  app.decorateRequest('caller', null as unknown as Caller);
  app.decorateRequest('visibility', function (this: { caller: Caller; _vis?: Promise<Visibility> }) {
    this._vis ??= visibilityFor(this.caller, collections);
    return this._vis;
  } as never);
  app.addHook('onRequest', async (request) => {
    request.caller = await auth.caller(request);
  });

  app.setErrorHandler((err, request, reply) => sendError(reply, request, err));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    } satisfies ErrorBody),
  );

  const metrics = registerMetrics(app, lake.catalog);
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the catalog answers',
        response: { 200: z.object({ status: z.literal('ok'), catalog: z.string() }), 503: errorSchema },
      },
    },
    async (_req, reply) => {
      try {
        await lake.catalog.db.selectFrom('collections').select('name').limit(1).execute();
      } catch (err) {
        return reply
          .status(503)
          .send({ error: { code: 'unavailable', message: `catalog: ${(err as Error).message}` } });
      }
      return { status: 'ok' as const, catalog: lake.catalog.dialect };
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const ctx: ServerContext = { lake, collections };
  for (const plugin of opts.plugins ?? []) await app.register(async (scope) => plugin(scope, ctx));
  return app;
}
