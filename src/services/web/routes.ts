import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../http/server.ts';

/**
 * The web interface: the single-page app that `npm run build:web` builds (Vite, src/web) into
 * dist/webapp, served at `/` with its client-side routes falling back to index.html. Registered last,
 * so every API route wins. The assets are read into memory (a few hundred kB), with an ETag each, a
 * gzip copy of the text ones, `immutable` caching for Vite's content-hashed /assets/ files and
 * `no-cache` for index.html. Until the app is built, its pages answer 503 saying how to build it.
 * The routes are hidden from the OpenAPI document: they carry no data.
 */

/** Paths the app routes itself (src/web/main.ts): each answers index.html. */
export const CLIENT_ROUTES = ['/', '/obs/:id', '/signin', '/sql', '/upload', '/browse', '/sky', '/dashboard'] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set([
  '.html',
  '.js',
  '.mjs',
  '.css',
  '.json',
  '.map',
  '.svg',
  '.txt',
  '.webmanifest',
]);

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
}

/** Where the built app is: FITSLAKE_WEB_DIR, else dist/webapp beside src/ (tsx) or dist/ (compiled). */
export function defaultWebDir(): string {
  if (process.env.FITSLAKE_WEB_DIR) return process.env.FITSLAKE_WEB_DIR;
  const here = dirname(fileURLToPath(import.meta.url));
  // Both src/services/web (run through tsx) and dist/services/web (compiled) lead to <root>/dist/webapp.
  const up = here.split(sep).slice(-3)[0] === 'src' ? ['..', '..', '..', 'dist'] : ['..', '..'];
  return join(here, ...up, 'webapp');
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of walk(dir)) {
    const ext = extname(file).toLowerCase();
    const body = readFileSync(file);
    let gzip: Buffer | null = null;
    if (COMPRESSIBLE.has(ext) && body.length > 256) {
      const z = gzipSync(body, { level: 9 });
      if (z.length < body.length * 0.9) gzip = z;
    }
    assets.set(`/${relative(dir, file).split(sep).join('/')}`, {
      body,
      gzip,
      type: TYPES[ext] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return assets;
}

/** The static app's routes over the assets in `dir`. */
export function webRoutesFrom(dir: string) {
  return async function webRoutes(app: FastifyInstance, _ctx: ServerContext): Promise<void> {
    let assets: Map<string, Asset> | null = null;
    let loadedMtime = -1;
    /** The assets, reloaded when index.html changes (a rebuild while the server runs); null when unbuilt. */
    const current = (): Map<string, Asset> | null => {
      let mtime: number;
      try {
        mtime = statSync(join(dir, 'index.html')).mtimeMs;
      } catch {
        assets = null;
        loadedMtime = -1;
        return null;
      }
      if (!assets || mtime !== loadedMtime) {
        assets = load(dir);
        loadedMtime = mtime;
      }
      return assets;
    };

    const unbuilt = (reply: FastifyReply) =>
      reply
        .status(503)
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send(
          'The fitslake web interface is not built. Run `npm run build:web` (it writes ' +
            `${dir}), then reload this page. The API is served as usual under /api.\n`,
        );

    const send = (request: FastifyRequest, reply: FastifyReply, asset: Asset, cache: string) => {
      reply.header('cache-control', cache);
      reply.header('etag', asset.etag);
      reply.header('vary', 'accept-encoding');
      reply.header('x-content-type-options', 'nosniff');
      const inm = request.headers['if-none-match'];
      if (inm?.split(',').some((t) => t.trim().replace(/^W\//, '') === asset.etag))
        return reply.status(304).send();
      reply.type(asset.type);
      const accept = request.headers['accept-encoding'];
      if (asset.gzip && typeof accept === 'string' && /\bgzip\b/.test(accept)) {
        reply.header('content-encoding', 'gzip');
        return reply.send(asset.gzip);
      }
      return reply.send(asset.body);
    };

    const index = async (request: FastifyRequest, reply: FastifyReply) => {
      const a = current()?.get('/index.html');
      if (!a) return unbuilt(reply);
      return send(request, reply, a, 'no-cache');
    };
    for (const path of CLIENT_ROUTES) app.get(path, { schema: { hide: true } }, index);

    // Vite's hashed bundles: a new build has new names, so a browser may keep these for a year.
    app.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
      const all = current();
      if (!all) return unbuilt(reply);
      const a = all.get(`/assets/${(request.params as { '*': string })['*']}`);
      if (!a) return reply.callNotFound();
      return send(request, reply, a, 'public, max-age=31536000, immutable');
    });
  };
}

/** The web interface from the default folder (see defaultWebDir). */
export async function webRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  await webRoutesFrom(defaultWebDir())(app, ctx);
}
