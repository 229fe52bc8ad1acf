import type { FastifyInstance } from 'fastify';
import { datalinkRoutes } from './datalink/routes.ts';
import { eventRoutes } from './events/routes.ts';
import type { ServerContext } from './http/server.ts';
import { restAdmin } from './rest/admin.ts';
import { restBrowse } from './rest/browse.ts';
import { restCollections } from './rest/collections.ts';
import { restFiles } from './rest/files.ts';
import { restObservations } from './rest/observations.ts';
import { resumableRoutes } from './rest/resumable.ts';
import { siaRoutes } from './sia/routes.ts';
import { sodaRoutes } from './soda/routes.ts';
import { sqlRoutes } from './sql/routes.ts';
import { tapRoutes } from './tap/routes.ts';
import { webRoutes } from './web/routes.ts';

/** Every service the server mounts, in order (the web interface last: every API route wins). */
export const servicePlugins: ((app: FastifyInstance, ctx: ServerContext) => Promise<void>)[] = [
  restCollections,
  restObservations,
  restFiles,
  resumableRoutes,
  restAdmin,
  sqlRoutes,
  eventRoutes,
  sodaRoutes,
  datalinkRoutes,
  tapRoutes,
  siaRoutes,
  restBrowse,
  webRoutes,
];
