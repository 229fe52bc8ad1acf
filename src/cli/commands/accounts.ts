import {
  createToken,
  deleteUser,
  listTokens,
  listUsers,
  revokeToken,
  saveUser,
} from '../../catalog/accounts.ts';
import { openLake } from '../../lake/lake.ts';
import type { Output } from '../output.ts';
import { EXIT } from './ingest.ts';

/** `fitslake user add|list|rm`: accounts with roles and groups. */
export async function userCommand(
  action: string,
  name: string | undefined,
  opts: { lake?: string; role?: string[]; group?: string[]; json?: boolean },
  io: Output,
): Promise<number> {
  const lake = await openLake(opts.lake);
  try {
    const cat = lake.catalog;
    if (action === 'list') {
      const users = await listUsers(cat);
      if (opts.json) io.out(`${JSON.stringify(users, null, 2)}\n`);
      else
        for (const u of users)
          io.out(`${u.name}\troles=${u.roles.join(',')}\tgroups=${u.groups.join(',')}\n`);
      return EXIT.ok;
    }
    if (!name) throw new Error(`user ${action}: name the user`);
    if (action === 'add') {
      const u = await saveUser(cat, name, opts.role ?? ['reader'], opts.group ?? []);
      io.out(`user ${u.name}: roles ${u.roles.join(', ')}; groups ${u.groups.join(', ') || 'none'}\n`);
      return EXIT.ok;
    }
    if (action === 'rm') {
      if (!(await deleteUser(cat, name))) throw new Error(`no user ${name}`);
      io.out(`removed user ${name} and its tokens\n`);
      return EXIT.ok;
    }
    throw new Error(`user ${action}: use add, list or rm`);
  } finally {
    await lake.close();
  }
}

/** `fitslake token create|list|revoke`: API tokens (shown once; only their hash is kept). */
export async function tokenCommand(
  action: string,
  arg: string | undefined,
  opts: { lake?: string; label?: string; days?: string; json?: boolean },
  io: Output,
): Promise<number> {
  const lake = await openLake(opts.lake);
  try {
    const cat = lake.catalog;
    if (action === 'create') {
      if (!arg) throw new Error('token create: name the user');
      const days = opts.days !== undefined ? Number(opts.days) : undefined;
      if (days !== undefined && !(days > 0)) throw new Error(`--days ${opts.days}: a positive number`);
      const { token, info } = await createToken(cat, arg, {
        ...(opts.label ? { label: opts.label } : {}),
        ...(days !== undefined ? { expiresInDays: days } : {}),
      });
      if (opts.json) io.out(`${JSON.stringify({ token, ...info })}\n`);
      else {
        io.out(`${token}\n`);
        io.err(`token ${info.prefix}… for ${info.user} (id ${info.id}); it is shown only now\n`);
      }
      return EXIT.ok;
    }
    if (action === 'list') {
      const tokens = await listTokens(cat, arg);
      if (opts.json) io.out(`${JSON.stringify(tokens, null, 2)}\n`);
      else
        for (const t of tokens)
          io.out(
            `${t.id}\t${t.prefix}…\t${t.user}\t${t.label ?? ''}\tcreated ${t.createdAt}` +
              `${t.expiresAt ? `\texpires ${t.expiresAt}` : ''}${t.revokedAt ? `\tREVOKED ${t.revokedAt}` : ''}\n`,
          );
      return EXIT.ok;
    }
    if (action === 'revoke') {
      if (!arg) throw new Error('token revoke: give the token id or its prefix (from token list)');
      const n = await revokeToken(cat, arg);
      if (!n) throw new Error(`no active token ${arg}`);
      io.out(`revoked ${n} token(s)\n`);
      return EXIT.ok;
    }
    throw new Error(`token ${action}: use create, list or revoke`);
  } finally {
    await lake.close();
  }
}
