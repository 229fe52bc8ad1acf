import type {
  AdqlQuery,
  Call,
  ColumnRef,
  Expr,
  FromItem,
  Ident,
  OrderItem,
  Pos,
  QueryBody,
  SelectSpec,
  TableRef,
} from './ast.ts';
import { AdqlError } from './errors.ts';
import {
  areaSql,
  checkShape,
  type Dialect,
  distanceSql,
  type Geo,
  type Indexed,
  literalRegion,
  type Num,
  predicateSql,
  textSql,
} from './geometry.ts';
import { parseAdql } from './parser.ts';
import { indexSql } from './spatial-index.ts';

/**
 * ADQL → SQL for SQLite or PostgreSQL. The translator walks the syntax tree once, resolving every
 * table through the caller's TableResolver and every column against the tables in scope (so unknown
 * names are reported at their position, and nothing reaches the engine unresolved), and emits SQL
 * in which every identifier is quoted and every table has a generated alias (t1, t2, …): user aliases
 * and ADQL's case-insensitive names never meet the engine's own rules, and a schema qualifier never
 * appears (the sandbox refuses them). Output columns are always aliased with unique names, so rows
 * read as objects keep every column.
 */

export interface ColumnMeta {
  name: string;
  datatype?: string;
  unit?: string;
  ucd?: string;
  utype?: string;
  description?: string;
}

export interface TableSource {
  /** A FROM-able SQL expression for this table in the target dialect, e.g. `observations` or `(SELECT … FROM observations)`. */
  sql: string;
  columns: ColumnMeta[];
  /** When the table is observation-like: the SQL column names holding the position/footprint, so CONTAINS/INTERSECTS can use the HEALPix index. */
  spatial?: { ra: string; dec: string; region?: string; idColumn: string };
}

/** Resolves a (possibly schema-qualified) ADQL table name, case-insensitively; undefined = unknown table (an AdqlError naming it). */
export type TableResolver = (schema: string | undefined, name: string) => TableSource | undefined;

export interface Translation {
  sql: string;
  columns: ColumnMeta[];
  /** TOP n if given */
  top?: number;
}

export interface TranslateOptions {
  dialect: Dialect;
  resolve: TableResolver;
  /**
   * The service's row limit. The SQL reads at most maxrec + 1 rows (or TOP, if smaller), so the
   * service can tell an overflow (more than maxrec rows) from an exact fit.
   */
  maxrec?: number;
}

/** The kinds of value the translator tracks, to pick engine functions and output datatypes. */
type Kind = 'integer' | 'double' | 'text' | 'boolean' | 'unknown';

interface Value {
  sql: string;
  kind: Kind;
  meta?: ColumnMeta;
  /** Set for a column reference: where it comes from (the HEALPix index needs to know). */
  source?: { table: SourceTable; column: string };
  /** Set for a geometry value (a shape constructor or a region column). */
  geo?: Geo;
}

interface SourceTable {
  /** The generated SQL alias. */
  alias: string;
  /** The name ADQL refers to it by: its alias, else its table name. */
  ref: Ident;
  /** The schema written before the table name (only when it has no alias). */
  schema?: Ident;
  columns: ColumnMeta[];
  spatial?: TableSource['spatial'];
}

interface Column {
  sql: string;
  kind: Kind;
  meta: ColumnMeta;
  source?: Value['source'];
}

/** What a FROM item contributes: its SQL, its tables, USING/NATURAL merged columns, `*`'s columns. */
interface FromPart {
  sql: string;
  isJoin: boolean;
  tables: SourceTable[];
  merged: Map<string, Column>;
  star: Column[];
}

interface Cte {
  sqlName: string;
  columns: ColumnMeta[];
}

interface Scope {
  tables: SourceTable[];
  merged: Map<string, Column>;
  ctes: Map<string, Cte>;
  parent?: Scope;
}

/** Where an expression sits: only a WHERE/ON/HAVING reached through AND/OR may use the index. */
interface Context {
  positive: boolean;
  /** Select-list aliases usable in GROUP BY when no column has the name. */
  aliases?: { name: string; value: Value }[];
}

interface Output {
  name: string;
  value: Value;
}

interface Translated {
  sql: string;
  outputs: Output[];
}

const NEUTRAL: Context = { positive: false };

export function translateAdql(text: string, opts: TranslateOptions): Translation {
  const ast = parseAdql(text);
  return translateQuery(ast, opts);
}

/** Translates an already parsed query. */
export function translateQuery(ast: AdqlQuery, opts: TranslateOptions): Translation {
  const t = new Translator(opts);
  const top = ast.body.type === 'select' ? ast.body.top : undefined;
  let limit: number | undefined;
  if (opts.maxrec !== undefined) limit = opts.maxrec + 1;
  const out = t.query(ast, undefined, limit);
  return {
    sql: out.sql,
    columns: out.outputs.map((o) => outputMeta(o)),
    ...(top !== undefined ? { top } : {}),
  };
}

function outputMeta(o: Output): ColumnMeta {
  const meta: ColumnMeta = { ...(o.value.meta ?? {}), name: o.name };
  if (!meta.datatype) {
    const dt = DATATYPE[o.value.kind];
    if (dt) meta.datatype = dt;
  }
  return meta;
}

const DATATYPE: Record<Kind, string | undefined> = {
  integer: 'long',
  double: 'double',
  text: 'char',
  boolean: 'boolean',
  unknown: undefined,
};

/** The kind of a column from its VOTable (or SQL) datatype. */
function kindOf(datatype: string | undefined): Kind {
  switch (datatype?.toLowerCase()) {
    case 'short':
    case 'int':
    case 'long':
    case 'integer':
    case 'smallint':
    case 'bigint':
    case 'unsignedbyte':
      return 'integer';
    case 'float':
    case 'double':
    case 'real':
    case 'double precision':
      return 'double';
    case 'char':
    case 'unicodechar':
    case 'text':
    case 'varchar':
    case 'string':
    case 'region':
    case 'adql:region':
    case 'timestamp':
      return 'text';
    case 'boolean':
      return 'boolean';
    default:
      return 'unknown';
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
/** ADQL name matching: a regular name case-insensitively, a quoted one exactly. */
const matches = (id: Ident, actual: string) =>
  id.quoted ? id.name === actual : id.name.toLowerCase() === actual.toLowerCase();
const key = (id: Ident) => (id.quoted ? id.name : id.name.toLowerCase());

const err = (pos: Pos, message: string): never => {
  throw new AdqlError(pos.line, pos.column, message);
};

class Translator {
  private dialect: Dialect;
  private resolve: TableResolver;
  private aliases = 0;

  constructor(opts: TranslateOptions) {
    this.dialect = opts.dialect;
    this.resolve = opts.resolve;
  }

  private alias(): string {
    return `t${++this.aliases}`;
  }

  // ------------------------------------------------------------------ queries

  query(q: AdqlQuery, parent: Scope | undefined, limit?: number): Translated {
    const scope: Scope = { tables: [], merged: new Map(), ctes: new Map(), parent };
    const withSql: string[] = [];
    for (const c of q.with) {
      const inner = this.query(c.query, scope);
      if (c.columns && c.columns.length !== inner.outputs.length)
        err(
          c.pos,
          `${c.name.name} names ${c.columns.length} columns but its query has ${inner.outputs.length}`,
        );
      const names = c.columns ? c.columns.map((x) => x.name) : inner.outputs.map((o) => o.name);
      const sqlName = quote(`adql_cte_${c.name.name}_${++this.aliases}`);
      withSql.push(`${sqlName} (${names.map(quote).join(', ')}) AS (${inner.sql})`);
      scope.ctes.set(key(c.name), {
        sqlName,
        columns: inner.outputs.map((o, i) => ({ ...outputMeta(o), name: names[i] })),
      });
    }
    let out: Translated;
    if (q.body.type === 'select') {
      const top = q.body.top;
      const lim = top === undefined ? limit : limit === undefined ? top : Math.min(top, limit);
      out = this.select(q.body, scope, q.orderBy, q.offset, lim);
    } else {
      const body = q.body.type === 'setop' ? this.setOperation(q.body, scope) : this.wrapped(q.body, scope);
      const order = q.orderBy.map((o) => this.outputOrder(o, body.outputs));
      out = { sql: body.sql + this.tail(order, q.offset, limit), outputs: body.outputs };
    }
    if (withSql.length) out = { ...out, sql: `WITH ${withSql.join(', ')} ${out.sql}` };
    return out;
  }

  /** ORDER BY / LIMIT / OFFSET. SQLite needs a LIMIT before any OFFSET (-1: none). */
  private tail(order: string[], offset: number | undefined, limit: number | undefined): string {
    let s = order.length ? ` ORDER BY ${order.join(', ')}` : '';
    if (limit !== undefined) s += ` LIMIT ${limit}`;
    else if (offset !== undefined && this.dialect === 'sqlite') s += ' LIMIT -1';
    if (offset !== undefined) s += ` OFFSET ${offset}`;
    return s;
  }

  /** A parenthesised query as a plain SELECT (for compound members, which cannot carry ORDER BY/LIMIT). */
  private wrapped(q: AdqlQuery, scope: Scope): Translated {
    const inner = this.query(q, scope);
    return this.wrap(inner);
  }

  private wrap(inner: Translated): Translated {
    const a = this.alias();
    return {
      sql: `SELECT ${inner.outputs.map((o) => `${a}.${quote(o.name)} AS ${quote(o.name)}`).join(', ')} FROM (${inner.sql}) AS ${a}`,
      outputs: inner.outputs,
    };
  }

  private setOperation(b: Extract<QueryBody, { type: 'setop' }>, scope: Scope): Translated {
    if (b.all && b.op !== 'UNION' && this.dialect === 'sqlite')
      err(b.pos, `${b.op} ALL is not supported on this service's SQLite catalog (use ${b.op})`);
    // SQLite evaluates compound operators left to right with equal precedence; PostgreSQL binds
    // INTERSECT tighter. A left operand that is a UNION/EXCEPT under INTERSECT, and any set
    // operation on the right, become subqueries, so both engines group as the tree says.
    const member = (x: QueryBody, side: 'left' | 'right'): Translated => {
      if (x.type === 'query') return this.wrapped(x, scope);
      if (x.type === 'select') {
        const s = this.select(x, scope, [], undefined, x.top);
        return x.top === undefined ? s : this.wrap(s);
      }
      const inner = this.setOperation(x, scope);
      const keep = side === 'left' && (b.op !== 'INTERSECT' || x.op === 'INTERSECT');
      return keep ? inner : this.wrap(inner);
    };
    const left = member(b.left, 'left');
    const right = member(b.right, 'right');
    if (left.outputs.length !== right.outputs.length)
      err(b.pos, `${b.op} of queries with ${left.outputs.length} and ${right.outputs.length} columns`);
    const outputs = left.outputs.map((o, i) => ({
      name: o.name,
      value: { ...o.value, kind: mergeKinds(o.value.kind, right.outputs[i].value.kind) },
    }));
    return { sql: `${left.sql} ${b.op}${b.all ? ' ALL' : ''} ${right.sql}`, outputs };
  }

  /** ORDER BY over a set operation's result: output names and ordinals only. */
  private outputOrder(o: OrderItem, outputs: Output[]): string {
    const dir = o.desc ? ' DESC' : ' ASC';
    if (o.expr.type === 'number') return `${this.ordinal(o.expr.value, outputs.length, o.pos)}${dir}`;
    if (o.expr.type === 'column' && o.expr.parts.length === 1) {
      const id = o.expr.parts[0];
      const hit = outputs.find((x) => matches(id, x.name));
      if (hit) return `${quote(hit.name)}${dir}`;
    }
    return err(o.pos, 'ORDER BY after a set operation must name an output column or give its position');
  }

  private ordinal(n: number, count: number, pos: Pos): number {
    if (!Number.isInteger(n) || n < 1 || n > count)
      err(pos, `ORDER BY position ${n} is not a column of the result (1 to ${count})`);
    return n;
  }

  select(
    s: SelectSpec,
    parent: Scope,
    orderBy: OrderItem[],
    offset: number | undefined,
    limit: number | undefined,
  ): Translated {
    const parts = s.from.map((f) => this.fromItem(f, parent));
    const scope: Scope = { tables: [], merged: new Map(), ctes: new Map(), parent };
    for (const p of parts) {
      scope.tables.push(...p.tables);
      for (const [k, v] of p.merged) scope.merged.set(k, v);
    }
    this.checkDistinctAliases(scope.tables);
    const outputs: Output[] = [];
    const taken = new Set<string>();
    const add = (name: string, value: Value, explicit: boolean) => {
      let n = name;
      // Duplicate names (t1.id, t2.id) get a suffix: rows read as objects would otherwise lose one.
      for (let k = 2; taken.has(n.toLowerCase()); k++) n = `${name}_${k}`;
      if (explicit && n !== name) n = name; // an explicit alias is the user's choice; keep it
      taken.add(n.toLowerCase());
      outputs.push({ name: n, value });
    };
    s.items.forEach((item, index) => {
      if (item.expr.type === 'star') {
        for (const c of this.star(item.expr.table, parts, scope, item.pos))
          add(c.meta.name, columnValue(c), false);
        return;
      }
      const v = this.expr(item.expr, scope, NEUTRAL);
      const value = v.kind === 'boolean' ? this.booleanAsInteger(v) : v;
      const name = item.alias ? item.alias.name : defaultName(item.expr, index);
      add(name, value, item.alias !== undefined);
    });
    const explicitNames = new Map<string, number>();
    for (const o of outputs)
      explicitNames.set(o.name.toLowerCase(), (explicitNames.get(o.name.toLowerCase()) ?? 0) + 1);
    const dup = [...explicitNames].find(([, n]) => n > 1);
    if (dup) err(s.pos, `the result has two columns named ${dup[0]}; give one an alias`);

    let sql = `SELECT ${s.quantifier === 'DISTINCT' ? 'DISTINCT ' : ''}${outputs
      .map((o) => `${o.value.sql} AS ${quote(o.name)}`)
      .join(
        ', ',
      )} FROM ${parts.map((p, i) => (i === 0 ? p.sql : `CROSS JOIN ${p.isJoin ? `(${p.sql})` : p.sql}`)).join(' ')}`;
    if (s.where) sql += ` WHERE ${this.condition(s.where, scope, { positive: true })}`;
    const aliases = s.items.flatMap((it, i) =>
      it.alias ? [{ name: it.alias.name, value: outputs[i]?.value }] : [],
    );
    if (s.groupBy.length) {
      const groups = s.groupBy.map((g) => this.expr(g, scope, { positive: false, aliases }).sql);
      sql += ` GROUP BY ${groups.join(', ')}`;
    }
    if (s.having) sql += ` HAVING ${this.condition(s.having, scope, { positive: true, aliases })}`;
    const order = orderBy.map((o) => {
      const dir = o.desc ? ' DESC' : ' ASC';
      if (o.expr.type === 'number') return `${this.ordinal(o.expr.value, outputs.length, o.pos)}${dir}`;
      if (o.expr.type === 'column' && o.expr.parts.length === 1) {
        const id = o.expr.parts[0];
        const hit = outputs.find((x) => matches(id, x.name));
        if (hit) return `${quote(hit.name)}${dir}`;
      }
      return `${this.expr(o.expr, scope, NEUTRAL).sql}${dir}`;
    });
    sql += this.tail(order, offset, limit);
    return { sql, outputs };
  }

  private checkDistinctAliases(tables: SourceTable[]): void {
    const seen = new Set<string>();
    for (const t of tables) {
      const k = `${t.schema ? `${key(t.schema)}.` : ''}${key(t.ref)}`;
      if (seen.has(k)) err(t.ref.pos, `${t.ref.name} appears twice in FROM; give one an alias`);
      seen.add(k);
    }
  }

  private star(table: Ident[] | undefined, parts: FromPart[], scope: Scope, pos: Pos): Column[] {
    if (!table) return parts.flatMap((p) => p.star);
    const t = this.findTables(table, scope.tables);
    if (!t.length)
      err(
        pos,
        `unknown table ${table.map((x) => x.name).join('.')} in ${table.map((x) => x.name).join('.')}.*`,
      );
    return t[0].columns.map((c) => tableColumn(t[0], c));
  }

  // ------------------------------------------------------------------ FROM

  private fromItem(f: FromItem, outer: Scope): FromPart {
    if (f.type === 'table') return this.tableRef(f, outer);
    if (f.type === 'derived') {
      const inner = this.query(f.query, outer);
      const alias = this.alias();
      const table: SourceTable = {
        alias,
        ref: f.alias,
        columns: inner.outputs.map((o) => outputMeta(o)),
      };
      return single(`(${inner.sql}) AS ${alias}`, table);
    }
    const left = this.fromItem(f.left, outer);
    const right = this.fromItem(f.right, outer);
    const both: Scope = {
      tables: [...left.tables, ...right.tables],
      merged: new Map([...left.merged, ...right.merged]),
      ctes: new Map(),
      parent: outer,
    };
    const rightSql = right.isJoin ? `(${right.sql})` : right.sql;
    const joinWord = f.kind === 'CROSS' ? 'CROSS JOIN' : f.kind === 'INNER' ? 'JOIN' : `${f.kind} JOIN`;
    let using = f.using;
    if (f.natural) {
      // NATURAL: every column name the two sides share (each must be unambiguous on its side).
      const rightNames = new Set(right.star.map((c) => c.meta.name.toLowerCase()));
      const seen = new Set<string>();
      using = [];
      for (const c of left.star) {
        const n = c.meta.name.toLowerCase();
        if (rightNames.has(n) && !seen.has(n)) {
          seen.add(n);
          using.push({ name: c.meta.name, quoted: true, pos: f.pos });
        }
      }
    }
    if (!using) {
      const on = f.on
        ? ` ON ${this.condition(f.on, both, { positive: true })}`
        : f.kind === 'CROSS'
          ? ''
          : ' ON 1 = 1';
      return {
        sql: `${left.sql} ${joinWord} ${rightSql}${on}`,
        isJoin: true,
        tables: both.tables,
        merged: both.merged,
        star: [...left.star, ...right.star],
      };
    }
    // USING / NATURAL become ON equalities; each shared column is then one column: the left one,
    // the right one for a RIGHT join, COALESCE of both for a FULL join.
    const conds: string[] = [];
    const merged = new Map(both.merged);
    const mergedStar: Column[] = [];
    const usedLeft = new Set<string>();
    const usedRight = new Set<string>();
    for (const id of using) {
      const l = this.columnIn(left, id);
      const r = this.columnIn(right, id);
      conds.push(`${l.sql} = ${r.sql}`);
      usedLeft.add(l.sql);
      usedRight.add(r.sql);
      const col: Column =
        f.kind === 'RIGHT'
          ? r
          : f.kind === 'FULL'
            ? { sql: `COALESCE(${l.sql}, ${r.sql})`, kind: l.kind, meta: l.meta }
            : l;
      merged.set(key(id), col);
      mergedStar.push(col);
    }
    return {
      sql: `${left.sql} ${joinWord} ${rightSql} ON ${conds.length ? conds.join(' AND ') : '1 = 1'}`,
      isJoin: true,
      tables: both.tables,
      merged,
      star: [
        ...mergedStar,
        ...left.star.filter((c) => !usedLeft.has(c.sql)),
        ...right.star.filter((c) => !usedRight.has(c.sql)),
      ],
    };
  }

  /** A column of one side of a join, by name (for USING). */
  private columnIn(part: FromPart, id: Ident): Column {
    const m = part.merged.get(key(id));
    if (m) return m;
    const hits = part.tables.flatMap((t) =>
      t.columns.filter((c) => matches(id, c.name)).map((c) => tableColumn(t, c)),
    );
    if (hits.length === 0) err(id.pos, `unknown column ${id.name} in USING`);
    if (hits.length > 1) err(id.pos, `column ${id.name} in USING is ambiguous`);
    return hits[0];
  }

  private tableRef(f: TableRef, outer: Scope): FromPart {
    const alias = this.alias();
    const schema = f.qualifier.length ? f.qualifier[f.qualifier.length - 1] : undefined;
    if (!schema) {
      for (let s: Scope | undefined = outer; s; s = s.parent) {
        const cte = s.ctes.get(key(f.name));
        if (cte)
          return single(`${cte.sqlName} AS ${alias}`, {
            alias,
            ref: f.alias ?? f.name,
            columns: cte.columns,
          });
      }
    }
    const src = this.resolve(schema?.name, f.name.name);
    if (!src) err(f.pos, `unknown table ${[...f.qualifier, f.name].map((x) => x.name).join('.')}`);
    const s = src as TableSource;
    return single(`${s.sql} AS ${alias}`, {
      alias,
      ref: f.alias ?? f.name,
      schema: f.alias ? undefined : schema,
      columns: s.columns,
      spatial: s.spatial,
    });
  }

  /** Tables in `tables` that a qualifier (t, schema.t, catalog.schema.t) names. */
  private findTables(q: Ident[], tables: SourceTable[]): SourceTable[] {
    const name = q[q.length - 1];
    const schema = q.length > 1 ? q[q.length - 2] : undefined;
    return tables.filter((t) => {
      // Case matters when either side is quoted.
      const same =
        name.quoted || t.ref.quoted
          ? name.name === t.ref.name
          : name.name.toLowerCase() === t.ref.name.toLowerCase();
      if (!same) return false;
      if (schema) return t.schema !== undefined && schema.name.toLowerCase() === t.schema.name.toLowerCase();
      return true;
    });
  }

  // ------------------------------------------------------------------ columns

  private column(e: ColumnRef, scope: Scope, ctx: Context): Value {
    const id = e.parts[e.parts.length - 1];
    const qualifier = e.parts.slice(0, -1);
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (!qualifier.length) {
        const m = s.merged.get(key(id));
        if (m) return columnValue(m);
        const hits = s.tables.flatMap((t) =>
          t.columns.filter((c) => matches(id, c.name)).map((c) => tableColumn(t, c)),
        );
        if (hits.length > 1)
          err(
            e.pos,
            `column ${id.name} is ambiguous (in ${[...new Set(hits.map((h) => h.source?.table.ref.name))].join(' and ')}); qualify it`,
          );
        if (hits.length === 1) return columnValue(hits[0]);
        continue;
      }
      const tables = this.findTables(qualifier, s.tables);
      if (!tables.length) continue;
      const c = tables[0].columns.find((x) => matches(id, x.name));
      if (!c) err(id.pos, `unknown column ${id.name} in ${qualifier.map((x) => x.name).join('.')}`);
      return columnValue(tableColumn(tables[0], c as ColumnMeta));
    }
    if (!qualifier.length && ctx.aliases) {
      const a = ctx.aliases.find((x) => matches(id, x.name));
      if (a?.value) return a.value;
    }
    if (qualifier.length)
      return err(
        e.pos,
        `unknown table ${qualifier.map((x) => x.name).join('.')} in ${e.parts.map((x) => x.name).join('.')}`,
      );
    return err(e.pos, `unknown column ${id.name}`);
  }

  // ------------------------------------------------------------------ expressions

  /** A condition: a boolean SQL expression. */
  private condition(e: Expr, scope: Scope, ctx: Context): string {
    const v = this.expr(e, scope, ctx);
    if (v.kind !== 'boolean' && v.kind !== 'unknown')
      err(e.pos, 'expected a condition (a comparison, LIKE, IN, …), found a value');
    return v.sql;
  }

  private booleanAsInteger(v: Value): Value {
    return { sql: `CASE WHEN ${v.sql} THEN 1 WHEN NOT ${v.sql} THEN 0 END`, kind: 'integer' };
  }

  expr(e: Expr, scope: Scope, ctx: Context): Value {
    const d = this.dialect;
    switch (e.type) {
      case 'number':
        return this.number(e.text);
      case 'string':
        return { sql: sqlString(e.value), kind: 'text' };
      case 'null':
        return { sql: 'NULL', kind: 'unknown' };
      case 'column': {
        const v = this.column(e, scope, ctx);
        return v;
      }
      case 'star':
        return err(e.pos, '* is only allowed in the select list and COUNT(*)');
      case 'unary': {
        if (e.op === 'NOT') {
          const inner = this.condition(e.operand, scope, NEUTRAL);
          return { sql: `(NOT ${inner})`, kind: 'boolean' };
        }
        const v = this.numeric(e.operand, scope);
        return { sql: e.op === '-' ? `(-${v.sql})` : v.sql, kind: v.kind };
      }
      case 'binary': {
        if (e.op === 'AND' || e.op === 'OR') {
          const c = ctx.positive ? ctx : NEUTRAL;
          return {
            sql: `(${this.condition(e.left, scope, c)} ${e.op} ${this.condition(e.right, scope, c)})`,
            kind: 'boolean',
          };
        }
        const geometric = this.geometricComparison(e.op, e.left, e.right, scope, ctx);
        if (geometric) return geometric;
        if (e.op === '||') {
          const l = this.scalar(e.left, scope);
          const r = this.scalar(e.right, scope);
          return { sql: `(${l.sql} || ${r.sql})`, kind: 'text' };
        }
        if (['+', '-', '*', '/'].includes(e.op)) {
          const l = this.numeric(e.left, scope);
          const r = this.numeric(e.right, scope);
          return { sql: `(${l.sql} ${e.op} ${r.sql})`, kind: mergeKinds(l.kind, r.kind) };
        }
        const l = this.scalar(e.left, scope);
        const r = this.scalar(e.right, scope);
        return { sql: `(${l.sql} ${e.op} ${r.sql})`, kind: 'boolean' };
      }
      case 'between': {
        const [x, lo, hi] = [e.expr, e.low, e.high].map((y) => this.scalar(y, scope).sql);
        return { sql: `(${x} ${e.not ? 'NOT ' : ''}BETWEEN ${lo} AND ${hi})`, kind: 'boolean' };
      }
      case 'like':
        return this.like(e.expr, e.pattern, e.not, e.caseInsensitive, scope);
      case 'inList': {
        const x = this.scalar(e.expr, scope).sql;
        const list = e.list.map((y) => this.scalar(y, scope).sql);
        return { sql: `(${x} ${e.not ? 'NOT ' : ''}IN (${list.join(', ')}))`, kind: 'boolean' };
      }
      case 'inQuery': {
        const x = this.scalar(e.expr, scope).sql;
        const q = this.subquery(e.query, scope, e.pos);
        return { sql: `(${x} ${e.not ? 'NOT ' : ''}IN (${q.sql}))`, kind: 'boolean' };
      }
      case 'isNull': {
        const x = this.expr(e.expr, scope, NEUTRAL);
        const sql = x.geo ? textSql(x.geo, d) : x.sql;
        return { sql: `(${sql} IS ${e.not ? 'NOT ' : ''}NULL)`, kind: 'boolean' };
      }
      case 'exists':
        return { sql: `EXISTS (${this.query(e.query, scope).sql})`, kind: 'boolean' };
      case 'subquery': {
        const q = this.subquery(e.query, scope, e.pos);
        return { sql: `(${q.sql})`, kind: q.outputs[0].value.kind, meta: q.outputs[0].value.meta };
      }
      case 'case': {
        const parts = ['CASE'];
        if (e.operand) parts.push(this.scalar(e.operand, scope).sql);
        let kind: Kind = 'unknown';
        for (const w of e.whens) {
          const when = e.operand ? this.scalar(w.when, scope).sql : this.condition(w.when, scope, NEUTRAL);
          const then = this.scalar(w.result, scope);
          kind = kind === 'unknown' ? then.kind : mergeKinds(kind, then.kind);
          parts.push(`WHEN ${when} THEN ${then.sql}`);
        }
        if (e.else) {
          const v = this.scalar(e.else, scope);
          kind = kind === 'unknown' ? v.kind : mergeKinds(kind, v.kind);
          parts.push(`ELSE ${v.sql}`);
        }
        parts.push('END');
        return { sql: `(${parts.join(' ')})`, kind };
      }
      case 'cast':
        return this.cast(this.scalar(e.expr, scope), e.to.name, e.to.length);
      case 'call':
        return this.call(e, scope, ctx);
    }
  }

  /** A value that is not a geometry or a condition (geometry becomes its STC-S text). */
  private scalar(e: Expr, scope: Scope): Value {
    const v = this.expr(e, scope, NEUTRAL);
    if (v.geo && v.geo.kind !== 'region') return { sql: textSql(v.geo, this.dialect), kind: 'text' };
    if (v.kind === 'boolean') return this.booleanAsInteger(v);
    return v;
  }

  private numeric(e: Expr, scope: Scope): Value {
    const v = this.scalar(e, scope);
    if (v.kind === 'text') err(e.pos, 'expected a number, found a string');
    return v;
  }

  private number(text: string): Value {
    const hex = text.startsWith('0x') || text.startsWith('0X');
    const integer = hex || !/[.eE]/.test(text);
    if (integer) {
      const decimal = hex ? BigInt(text).toString() : text;
      // PostgreSQL types a bare integer above 2^31 as bigint anyway; SQLite has one integer type.
      return { sql: decimal, kind: 'integer' };
    }
    return { sql: this.dialect === 'postgres' ? `CAST(${text} AS double precision)` : text, kind: 'double' };
  }

  private subquery(q: AdqlQuery, scope: Scope, pos: Pos): Translated {
    const out = this.query(q, scope);
    if (out.outputs.length !== 1)
      err(pos, `the subquery must return one column (it returns ${out.outputs.length})`);
    return out;
  }

  private like(x: Expr, p: Expr, not: boolean, ci: boolean, scope: Scope): Value {
    const value = this.scalar(x, scope).sql;
    const n = not ? 'NOT ' : '';
    if (this.dialect === 'postgres') {
      // ADQL has no escape character; PostgreSQL's default one (\) is switched off.
      const pattern = this.scalar(p, scope).sql;
      return { sql: `(${value} ${n}${ci ? 'ILIKE' : 'LIKE'} ${pattern} ESCAPE '')`, kind: 'boolean' };
    }
    if (ci) return { sql: `(${value} ${n}LIKE ${this.scalar(p, scope).sql})`, kind: 'boolean' };
    // SQLite's LIKE ignores ASCII case; ADQL's LIKE does not. GLOB is case-sensitive: the pattern
    // is converted (% → *, _ → ?, GLOB's own * ? [ bracketed as literals).
    if (p.type === 'string')
      return { sql: `(${value} ${n}GLOB ${sqlString(likeToGlob(p.value))})`, kind: 'boolean' };
    const pattern = this.scalar(p, scope).sql;
    const glob = `replace(replace(replace(replace(replace(${pattern}, '[', '[[]'), '*', '[*]'), '?', '[?]'), '%', '*'), '_', '?')`;
    return { sql: `(${value} ${n}GLOB ${glob})`, kind: 'boolean' };
  }

  private cast(v: Value, type: string, length: number | undefined): Value {
    const pg = this.dialect === 'postgres';
    switch (type) {
      case 'INTEGER':
      case 'SMALLINT':
      case 'BIGINT': {
        // Both engines truncate toward zero (PostgreSQL's own cast from a double rounds).
        const t = type.toLowerCase();
        if (!pg) return { sql: `CAST(${v.sql} AS INTEGER)`, kind: 'integer' };
        if (v.kind === 'integer') return { sql: `CAST(${v.sql} AS ${t})`, kind: 'integer' };
        return { sql: `CAST(trunc(CAST(${v.sql} AS numeric)) AS ${t})`, kind: 'integer' };
      }
      case 'REAL':
        return { sql: `CAST(${v.sql} AS ${pg ? 'real' : 'REAL'})`, kind: 'double' };
      case 'DOUBLE PRECISION':
        return { sql: `CAST(${v.sql} AS ${pg ? 'double precision' : 'REAL'})`, kind: 'double' };
      case 'CHAR':
      case 'VARCHAR':
        if (pg)
          return {
            sql: `CAST(${v.sql} AS ${length !== undefined ? `varchar(${length})` : 'text'})`,
            kind: 'text',
          };
        return {
          sql:
            length !== undefined ? `substr(CAST(${v.sql} AS TEXT), 1, ${length})` : `CAST(${v.sql} AS TEXT)`,
          kind: 'text',
        };
      default:
        return pg
          ? { sql: `CAST(${v.sql} AS timestamp)`, kind: 'text' }
          : { sql: `datetime(${v.sql})`, kind: 'text' };
    }
  }

  // ------------------------------------------------------------------ functions

  private call(e: Call, scope: Scope, ctx: Context): Value {
    const d = this.dialect;
    const pg = d === 'postgres';
    const name = e.name;
    const arity = (min: number, max = min) => {
      if (e.args.length < min || e.args.length > max)
        err(
          e.pos,
          `${name} takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, not ${e.args.length}`,
        );
    };
    const nums = () => e.args.map((a) => this.numeric(a, scope));
    const fn = (sql: string, kind: Kind = 'double', meta?: Partial<ColumnMeta>): Value => ({
      sql,
      kind,
      ...(meta ? { meta: { name: name.toLowerCase(), ...meta } } : {}),
    });

    if (AGGREGATES.has(name)) return this.aggregate(e, scope);
    if (GEOMETRY.has(name)) return this.geometry(e, scope, ctx);

    const simple = SIMPLE_MATH[name];
    if (simple) {
      arity(simple.args);
      return fn(
        `${pg ? (simple.pg ?? simple.sqlite) : simple.sqlite}(${nums()
          .map((a) => a.sql)
          .join(', ')})`,
      );
    }
    switch (name) {
      case 'ABS': {
        arity(1);
        const [x] = nums();
        return fn(`abs(${x.sql})`, x.kind);
      }
      case 'CEILING':
      case 'FLOOR': {
        arity(1);
        const [x] = nums();
        return fn(`${name.toLowerCase()}(${x.sql})`, x.kind === 'integer' ? 'integer' : 'double');
      }
      case 'PI':
        arity(0);
        return fn('pi()');
      case 'COT': {
        arity(1);
        const [x] = nums();
        return fn(pg ? `cot(${x.sql})` : `(1.0 / tan(${x.sql}))`);
      }
      case 'RAND': {
        // A seed cannot be applied per query on SQLite; it is accepted and ignored on both.
        arity(0, 1);
        nums();
        return fn(pg ? 'random()' : '(random() / 18446744073709551616.0 + 0.5)');
      }
      case 'MOD': {
        arity(2);
        const [a, b] = nums();
        if (!pg || (a.kind === 'integer' && b.kind === 'integer'))
          return fn(`mod(${a.sql}, ${b.sql})`, mergeKinds(a.kind, b.kind));
        // PostgreSQL has mod() for integers and numeric only.
        return fn(`CAST(mod(CAST(${a.sql} AS numeric), CAST(${b.sql} AS numeric)) AS double precision)`);
      }
      case 'ROUND':
      case 'TRUNCATE': {
        arity(1, 2);
        const [x, n] = nums();
        const places = n?.sql ?? '0';
        if (pg) {
          // numeric rounds half away from zero as SQLite does (double precision rounds half to even).
          const f = name === 'ROUND' ? 'round' : 'trunc';
          return fn(`CAST(${f}(CAST(${x.sql} AS numeric), ${places}) AS double precision)`);
        }
        if (name === 'ROUND') return fn(`round(${x.sql}, ${places})`);
        return fn(
          n ? `(trunc((${x.sql}) * power(10, ${places})) / power(10, ${places}))` : `trunc(${x.sql})`,
        );
      }
      case 'LOWER':
      case 'UPPER':
      case 'TRIM': {
        arity(1);
        const x = this.scalar(e.args[0], scope);
        return fn(`${name.toLowerCase()}(${x.sql})`, 'text');
      }
    }
    return err(e.pos, `unknown function ${name}`);
  }

  private aggregate(e: Call, scope: Scope): Value {
    const pg = this.dialect === 'postgres';
    const name = e.name;
    if (e.args.length !== 1) err(e.pos, `${name} takes one argument`);
    const distinct = e.distinct ? 'DISTINCT ' : '';
    if (e.args[0].type === 'star') return { sql: 'count(*)', kind: 'integer' };
    const x = this.scalar(e.args[0], scope);
    switch (name) {
      case 'COUNT':
        return { sql: `count(${distinct}${x.sql})`, kind: 'integer' };
      case 'SUM':
        // PostgreSQL sums bigints as numeric (a string to the driver): back to bigint.
        if (pg && x.kind === 'integer')
          return { sql: `CAST(sum(${distinct}${x.sql}) AS bigint)`, kind: 'integer' };
        return { sql: `sum(${distinct}${x.sql})`, kind: x.kind, meta: x.meta && { ...x.meta } };
      case 'AVG':
        return {
          sql: pg ? `CAST(avg(${distinct}${x.sql}) AS double precision)` : `avg(${distinct}${x.sql})`,
          kind: 'double',
          meta: x.meta && { ...x.meta, datatype: 'double' },
        };
      default:
        return {
          sql: `${name.toLowerCase()}(${distinct}${x.sql})`,
          kind: x.kind,
          meta: x.meta && { ...x.meta },
        };
    }
  }

  // ------------------------------------------------------------------ geometry

  private geometry(e: Call, scope: Scope, ctx: Context): Value {
    const d = this.dialect;
    switch (e.name) {
      case 'CONTAINS':
      case 'INTERSECTS': {
        const cond = this.predicate(e, scope, ctx.positive);
        return this.booleanAsInteger({ sql: cond, kind: 'boolean' });
      }
      case 'DISTANCE': {
        const args = this.withoutFrame(e.args);
        let p: Geo;
        let q: Geo;
        if (args.length === 4) {
          const [a, b, c, dd] = args.map((x) => this.num(x, scope));
          p = { kind: 'point', ra: a, dec: b };
          q = { kind: 'point', ra: c, dec: dd };
        } else if (args.length === 2) {
          p = this.geo(args[0], scope);
          q = this.geo(args[1], scope);
        } else return err(e.pos, 'DISTANCE takes two points (or ra1, dec1, ra2, dec2)');
        if (p.kind !== 'point' || q.kind !== 'point') return err(e.pos, 'DISTANCE takes two points');
        return {
          sql: distanceSql(p.ra, p.dec, q.ra, q.dec, d),
          kind: 'double',
          meta: { name: 'distance', unit: 'deg' },
        };
      }
      case 'AREA': {
        if (e.args.length !== 1) err(e.pos, 'AREA takes one shape');
        return {
          sql: areaSql(this.geo(e.args[0], scope), d),
          kind: 'double',
          meta: { name: 'area', unit: 'deg**2' },
        };
      }
      case 'COORD1':
      case 'COORD2': {
        if (e.args.length !== 1) err(e.pos, `${e.name} takes one point`);
        const g = this.geo(e.args[0], scope);
        if (g.kind !== 'point') err(e.args[0].pos, `${e.name} takes a point`);
        const p = g as Extract<Geo, { kind: 'point' }>;
        return {
          sql: (e.name === 'COORD1' ? p.ra : p.dec).sql,
          kind: 'double',
          meta: { name: e.name.toLowerCase(), unit: 'deg' },
        };
      }
      case 'COORDSYS':
        if (e.args.length !== 1) err(e.pos, 'COORDSYS takes one shape');
        this.geo(e.args[0], scope);
        return { sql: "'ICRS'", kind: 'text' };
      case 'CENTROID':
      case 'REGION':
        return err(e.pos, `${e.name} is not supported`);
      default: {
        const g = this.geo(e, scope);
        return {
          sql: textSql(g, d),
          kind: 'text',
          geo: g,
          meta: { name: e.name.toLowerCase(), datatype: 'char' },
        };
      }
    }
  }

  /** CONTAINS/INTERSECTS as a condition; with the HEALPix candidates when allowed and possible. */
  private predicate(e: Call, scope: Scope, positive: boolean): string {
    if (e.args.length !== 2) err(e.pos, `${e.name} takes two shapes`);
    const a = this.geo(e.args[0], scope);
    const b = this.geo(e.args[1], scope);
    const op = e.name as 'CONTAINS' | 'INTERSECTS';
    const exact = predicateSql(op, a, b, this.dialect);
    if (typeof exact === 'boolean') return exact ? '(1 = 1)' : '(1 = 0)';
    if (!positive) return exact;
    // An indexed side (the table's position or footprint) against a literal shape: every match is
    // among the observations whose stored cells meet the shape's cells.
    const indexedOf = (g: Geo): Indexed | undefined =>
      g.kind === 'point' || g.kind === 'region' ? g.indexed : undefined;
    const pairs: [Indexed | undefined, Geo][] = [
      [indexedOf(a), b],
      [indexedOf(b), a],
    ];
    for (const [ix, other] of pairs) {
      const region = ix && literalRegion(other);
      if (ix && region) return `(${indexSql(ix.id, region)} AND ${exact})`;
    }
    return exact;
  }

  /** `CONTAINS(…) = 1`, `0 = INTERSECTS(…)` and the like: the predicate itself, not 1/0 compared. */
  private geometricComparison(op: string, l: Expr, r: Expr, scope: Scope, ctx: Context): Value | undefined {
    if (op !== '=' && op !== '<>') return undefined;
    const isPred = (x: Expr): x is Call =>
      x.type === 'call' && (x.name === 'CONTAINS' || x.name === 'INTERSECTS');
    const isBit = (x: Expr) => x.type === 'number' && (x.value === 0 || x.value === 1);
    const [call, bit] =
      isPred(l) && isBit(r) ? [l, r] : isPred(r) && isBit(l) ? [r, l] : [undefined, undefined];
    if (!call || !bit || bit.type !== 'number') return undefined;
    const wanted = (op === '=') === (bit.value === 1);
    const cond = this.predicate(call, scope, ctx.positive && wanted);
    return { sql: wanted ? cond : `(NOT ${cond})`, kind: 'boolean' };
  }

  /** Drops a leading coordinate-system string ('ICRS', 'GALACTIC'…: accepted and ignored, as ADQL 2.1 deprecates it). */
  private withoutFrame(args: Expr[]): Expr[] {
    return args.length && args[0].type === 'string' ? args.slice(1) : args;
  }

  private num(e: Expr, scope: Scope): Num {
    const v = this.numeric(e, scope);
    const lit = constant(e);
    return lit === undefined ? { sql: v.sql } : { sql: v.sql, lit };
  }

  /** A geometry operand: a shape constructor or a region column. */
  private geo(e: Expr, scope: Scope): Geo {
    if (e.type === 'column') {
      const v = this.column(e, scope, NEUTRAL);
      const spatial = v.source?.table.spatial;
      const isRegion =
        (spatial?.region !== undefined && v.source?.column === spatial.region) ||
        ['region', 'adql:region'].includes(v.meta?.datatype?.toLowerCase() ?? '');
      if (!isRegion) err(e.pos, `expected a geometry, found column ${e.parts.map((p) => p.name).join('.')}`);
      const indexed =
        spatial && v.source && v.source.column === spatial.region
          ? { id: `${v.source.table.alias}.${quote(spatial.idColumn)}` }
          : undefined;
      return { kind: 'region', sql: v.sql, ...(indexed ? { indexed } : {}) };
    }
    if (e.type !== 'call' || !SHAPES.has(e.name))
      return err(e.pos, 'expected a geometry (POINT, CIRCLE, POLYGON, BOX or a region column)');
    const args = this.withoutFrame(e.args);
    const point = (x: Expr) => {
      const g = this.geo(x, scope);
      if (g.kind !== 'point') err(x.pos, 'expected a point');
      return g as Extract<Geo, { kind: 'point' }>;
    };
    const isPointArg = (x: Expr | undefined) => x?.type === 'call' && x.name === 'POINT';
    let g: Geo;
    switch (e.name) {
      case 'POINT': {
        if (args.length !== 2) err(e.pos, 'POINT takes ra, dec');
        const ra = this.num(args[0], scope);
        const dec = this.num(args[1], scope);
        g = { kind: 'point', ra, dec };
        const a = this.column0(args[0], scope);
        const b = this.column0(args[1], scope);
        const sp = a?.table.spatial;
        if (sp && a && b && a.table === b.table && a.column === sp.ra && b.column === sp.dec)
          g.indexed = { id: `${a.table.alias}.${quote(sp.idColumn)}` };
        break;
      }
      case 'CIRCLE': {
        if (isPointArg(args[0]) && args.length === 2) {
          const p = point(args[0]);
          g = { kind: 'circle', ra: p.ra, dec: p.dec, r: this.num(args[1], scope) };
        } else {
          if (args.length !== 3) err(e.pos, 'CIRCLE takes ra, dec, radius (or a point and a radius)');
          g = {
            kind: 'circle',
            ra: this.num(args[0], scope),
            dec: this.num(args[1], scope),
            r: this.num(args[2], scope),
          };
        }
        break;
      }
      case 'POLYGON': {
        const v: [Num, Num][] = [];
        if (args.every(isPointArg)) for (const a of args) v.push([point(a).ra, point(a).dec]);
        else {
          if (args.length % 2) err(e.pos, 'POLYGON takes pairs of ra, dec');
          for (let i = 0; i < args.length; i += 2)
            v.push([this.num(args[i], scope), this.num(args[i + 1], scope)]);
        }
        if (v.length < 3) err(e.pos, 'a polygon needs at least 3 vertices');
        g = { kind: 'polygon', v };
        break;
      }
      default: {
        // BOX(ra, dec, width, height) or BOX(point, width, height): the polygon of its corners.
        let ra: Num;
        let dec: Num;
        let rest: Expr[];
        if (isPointArg(args[0]) && args.length === 3) {
          const p = point(args[0]);
          ra = p.ra;
          dec = p.dec;
          rest = args.slice(1);
        } else {
          if (args.length !== 4) err(e.pos, 'BOX takes ra, dec, width, height');
          ra = this.num(args[0], scope);
          dec = this.num(args[1], scope);
          rest = args.slice(2);
        }
        const w = this.num(rest[0], scope);
        const h = this.num(rest[1], scope);
        const corner = (sx: number, sy: number): [Num, Num] => [
          this.offset(ra, w, sx),
          this.offset(dec, h, sy),
        ];
        g = { kind: 'polygon', v: [corner(-1, -1), corner(1, -1), corner(1, 1), corner(-1, 1)] };
      }
    }
    const lit = literalRegion(g);
    const problem = lit && checkShape(lit);
    if (problem) err(e.pos, problem);
    return g;
  }

  /** centre ± size/2, as a Num (a constant when both are). */
  private offset(c: Num, size: Num, sign: number): Num {
    const sql = `((${c.sql}) ${sign < 0 ? '-' : '+'} (${size.sql}) * 0.5)`;
    return c.lit !== undefined && size.lit !== undefined
      ? { sql, lit: c.lit + (sign * size.lit) / 2 }
      : { sql };
  }

  private column0(e: Expr, scope: Scope): Value['source'] | undefined {
    return e.type === 'column' ? this.column(e, scope, NEUTRAL).source : undefined;
  }
}

// ------------------------------------------------------------------ helpers

function single(sql: string, table: SourceTable): FromPart {
  return {
    sql,
    isJoin: false,
    tables: [table],
    merged: new Map(),
    star: table.columns.map((c) => tableColumn(table, c)),
  };
}

function tableColumn(t: SourceTable, c: ColumnMeta): Column {
  return {
    sql: `${t.alias}.${quote(c.name)}`,
    kind: kindOf(c.datatype),
    meta: c,
    source: { table: t, column: c.name },
  };
}

function columnValue(c: Column): Value {
  return { sql: c.sql, kind: c.kind, meta: c.meta, ...(c.source ? { source: c.source } : {}) };
}

function mergeKinds(a: Kind, b: Kind): Kind {
  if (a === b) return a;
  if (a === 'unknown') return b;
  if (b === 'unknown') return a;
  if ((a === 'integer' && b === 'double') || (a === 'double' && b === 'integer')) return 'double';
  return 'unknown';
}

/** The output name of an unaliased select item: a column's name, a function's, else col<n>. */
function defaultName(e: Expr, index: number): string {
  if (e.type === 'column') return e.parts[e.parts.length - 1].name;
  if (e.type === 'call') return e.name.toLowerCase();
  return `col${index + 1}`;
}

/** The value of a constant numeric expression (for literal shapes), else undefined. */
export function constant(e: Expr): number | undefined {
  if (e.type === 'number') return e.value;
  if (e.type === 'unary' && e.op !== 'NOT') {
    const v = constant(e.operand);
    return v === undefined ? undefined : e.op === '-' ? -v : v;
  }
  if (e.type === 'binary' && ['+', '-', '*', '/'].includes(e.op)) {
    const a = constant(e.left);
    const b = constant(e.right);
    if (a === undefined || b === undefined) return undefined;
    // Integer division would differ from SQL's; leave such expressions to the engine.
    if (e.op === '/' && Number.isInteger(a) && Number.isInteger(b)) return undefined;
    return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
  }
  if (e.type === 'call' && e.name === 'PI' && e.args.length === 0) return Math.PI;
  return undefined;
}

/** An ADQL LIKE pattern as a GLOB pattern (SQLite): % → *, _ → ?, and GLOB's own *, ?, [ made literal. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

const AGGREGATES = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX']);
const SHAPES = new Set(['POINT', 'CIRCLE', 'POLYGON', 'BOX']);
const GEOMETRY = new Set([
  ...SHAPES,
  'CONTAINS',
  'INTERSECTS',
  'DISTANCE',
  'AREA',
  'COORD1',
  'COORD2',
  'COORDSYS',
  'CENTROID',
  'REGION',
]);

/** Functions with the same meaning and a double result on both engines (name per engine). */
const SIMPLE_MATH: Record<string, { args: number; sqlite: string; pg?: string }> = {
  DEGREES: { args: 1, sqlite: 'degrees' },
  RADIANS: { args: 1, sqlite: 'radians' },
  EXP: { args: 1, sqlite: 'exp' },
  // ADQL's LOG is the natural logarithm; PostgreSQL's log() is base 10.
  LOG: { args: 1, sqlite: 'ln' },
  LOG10: { args: 1, sqlite: 'log10', pg: 'log' },
  POWER: { args: 2, sqlite: 'power' },
  SQRT: { args: 1, sqlite: 'sqrt' },
  ACOS: { args: 1, sqlite: 'acos' },
  ASIN: { args: 1, sqlite: 'asin' },
  ATAN: { args: 1, sqlite: 'atan' },
  ATAN2: { args: 2, sqlite: 'atan2' },
  COS: { args: 1, sqlite: 'cos' },
  SIN: { args: 1, sqlite: 'sin' },
  TAN: { args: 1, sqlite: 'tan' },
};
