// A real lake and a real HTTP server on an ephemeral loopback port, for the service tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createToken, saveUser } from '../../src/catalog/accounts.ts';
import type { Catalog } from '../../src/catalog/catalog.ts';
import { initLake } from '../../src/config/init.ts';
import { type Lake, openLake } from '../../src/lake/lake.ts';
import { buildServer, type ServerOptions } from '../../src/services/http/server.ts';

/** A fresh lake on embedded defaults (SQLite, local folder), optionally with extra config YAML. */
export async function tempLake(configYaml = '', env: NodeJS.ProcessEnv = {}): Promise<Lake> {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-srv-'));
  initLake(dir);
  if (configYaml) writeFileSync(join(dir, 'fitslake.yaml'), configYaml);
  return openLake(dir, env);
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServer(
  lake: Lake,
  opts: Omit<ServerOptions, 'lake'> = {},
): Promise<RunningServer> {
  const app = await buildServer({ logger: false, ...opts, lake });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return { url: `http://127.0.0.1:${address.port}`, app, close: () => app.close() };
}

/** Accounts with one API token each (returned by name); with groups where given. */
export async function usersWithTokens(
  cat: Catalog,
  users: Record<string, readonly string[]>,
  groups: Record<string, string[]> = {},
): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const [name, roles] of Object.entries(users)) {
    await saveUser(cat, name, roles, groups[name] ?? []);
    tokens[name] = (await createToken(cat, name)).token;
  }
  return tokens;
}
