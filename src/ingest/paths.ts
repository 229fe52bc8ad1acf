/**
 * Folder and file names as columns, as a Glue crawler makes them: Hive-style `key=value` folders
 * always, and a collection's path template such as `{instrument}/{night}/{file}`.
 */
export class PathTemplateError extends Error {
  override name = 'PathTemplateError';
}

const FIELD = /^[a-z_][a-z0-9_]*$/i;

/** Compiles a template into a matcher over the key below the collection. */
export function compileTemplate(template: string): (relKey: string) => Record<string, string> | null {
  const parts = template.split('/');
  const regex = parts
    .map((part, i) =>
      part.replace(/\{([^}]*)\}|([^{]+)/g, (_, name: string | undefined, lit: string | undefined) => {
        if (lit !== undefined) return lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        if (!name || !FIELD.test(name))
          throw new PathTemplateError(`bad field {${name}} in path template "${template}"`);
        // The last field of the last segment may hold the rest of the key ({file}).
        return i === parts.length - 1 ? `(?<${name}>.+)` : `(?<${name}>[^/]+)`;
      }),
    )
    .join('/');
  const re = new RegExp(`^${regex}$`);
  return (relKey) => {
    const m = re.exec(relKey);
    return m ? { ...m.groups } : null;
  };
}

/** The columns a key gives: Hive folders, then the template's fields (which win on a clash). */
export function pathFields(relKey: string, template?: string): Record<string, string> {
  const out: Record<string, string> = {};
  const folders = relKey.split('/').slice(0, -1);
  for (const f of folders) {
    const eq = f.indexOf('=');
    if (eq > 0 && FIELD.test(f.slice(0, eq)))
      out[f.slice(0, eq).toLowerCase()] = decodeURIComponent(f.slice(eq + 1));
  }
  if (template) Object.assign(out, compileTemplate(template)(relKey) ?? {});
  return out;
}
