import type { AdqlQuery, Expr, FromItem, Ident, QueryBody, SelectSpec } from './ast.ts';

/**
 * Prints a syntax tree back as ADQL. Compound sub-expressions are parenthesised, so the text parses
 * to the same tree whatever the precedence rules (the parser tests round-trip through this), and a
 * service can log or echo the query it understood.
 */
export function printAdql(q: AdqlQuery): string {
  return query(q);
}

function ident(id: Ident): string {
  return id.quoted ? `"${id.name.replace(/"/g, '""')}"` : id.name;
}

const names = (ids: Ident[]) => ids.map(ident).join('.');

function query(q: AdqlQuery): string {
  const parts: string[] = [];
  if (q.with.length)
    parts.push(
      `WITH ${q.with
        .map(
          (c) =>
            `${ident(c.name)}${c.columns ? ` (${c.columns.map(ident).join(', ')})` : ''} AS (${query(c.query)})`,
        )
        .join(', ')}`,
    );
  parts.push(body(q.body));
  if (q.orderBy.length)
    parts.push(`ORDER BY ${q.orderBy.map((o) => `${expr(o.expr)}${o.desc ? ' DESC' : ''}`).join(', ')}`);
  if (q.offset !== undefined) parts.push(`OFFSET ${q.offset}`);
  return parts.join(' ');
}

function body(b: QueryBody): string {
  if (b.type === 'select') return select(b);
  if (b.type === 'query') return `(${query(b)})`;
  // INTERSECT binds tighter than UNION/EXCEPT, and all associate to the left: parenthesise only
  // what those rules would group differently.
  const left = b.left.type === 'setop' && b.op === 'INTERSECT' && b.left.op !== 'INTERSECT';
  const right = b.right.type === 'setop' && (b.op === 'INTERSECT' || b.right.op !== 'INTERSECT');
  const wrap = (x: QueryBody, paren: boolean) => (paren ? `(${body(x)})` : body(x));
  return `${wrap(b.left, left)} ${b.op}${b.all ? ' ALL' : ''} ${wrap(b.right, right)}`;
}

function select(s: SelectSpec): string {
  const parts = ['SELECT'];
  if (s.quantifier) parts.push(s.quantifier);
  if (s.top !== undefined) parts.push(`TOP ${s.top}`);
  parts.push(s.items.map((it) => `${expr(it.expr)}${it.alias ? ` AS ${ident(it.alias)}` : ''}`).join(', '));
  parts.push(`FROM ${s.from.map(from).join(', ')}`);
  if (s.where) parts.push(`WHERE ${expr(s.where)}`);
  if (s.groupBy.length) parts.push(`GROUP BY ${s.groupBy.map(expr).join(', ')}`);
  if (s.having) parts.push(`HAVING ${expr(s.having)}`);
  return parts.join(' ');
}

function from(f: FromItem): string {
  if (f.type === 'table')
    return `${names([...f.qualifier, f.name])}${f.alias ? ` AS ${ident(f.alias)}` : ''}`;
  if (f.type === 'derived') return `(${query(f.query)}) AS ${ident(f.alias)}`;
  const right = f.right.type === 'join' ? `(${from(f.right)})` : from(f.right);
  const kind = f.kind === 'INNER' ? 'INNER JOIN' : f.kind === 'CROSS' ? 'CROSS JOIN' : `${f.kind} OUTER JOIN`;
  let s = `${from(f.left)} ${f.natural ? 'NATURAL ' : ''}${kind} ${right}`;
  if (f.on) s += ` ON ${expr(f.on)}`;
  if (f.using) s += ` USING (${f.using.map(ident).join(', ')})`;
  return s;
}

/** An operand: atoms as they are, anything compound in parentheses. */
function operand(e: Expr): string {
  const atomic = ['number', 'string', 'null', 'column', 'call', 'case', 'cast', 'subquery', 'star'];
  // A negative number literal is printed with its sign, so it counts as compound.
  return atomic.includes(e.type) ? expr(e) : `(${expr(e)})`;
}

function string(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function expr(e: Expr): string {
  switch (e.type) {
    case 'number':
      return e.text;
    case 'string':
      return string(e.value);
    case 'null':
      return 'NULL';
    case 'column':
      return names(e.parts);
    case 'star':
      return e.table ? `${names(e.table)}.*` : '*';
    case 'unary':
      return e.op === 'NOT' ? `NOT ${operand(e.operand)}` : `${e.op}${operand(e.operand)}`;
    case 'binary':
      return `${operand(e.left)} ${e.op} ${operand(e.right)}`;
    case 'between':
      return `${operand(e.expr)}${e.not ? ' NOT' : ''} BETWEEN ${operand(e.low)} AND ${operand(e.high)}`;
    case 'like':
      return `${operand(e.expr)}${e.not ? ' NOT' : ''} ${e.caseInsensitive ? 'ILIKE' : 'LIKE'} ${operand(e.pattern)}`;
    case 'inList':
      return `${operand(e.expr)}${e.not ? ' NOT' : ''} IN (${e.list.map(expr).join(', ')})`;
    case 'inQuery':
      return `${operand(e.expr)}${e.not ? ' NOT' : ''} IN (${query(e.query)})`;
    case 'isNull':
      return `${operand(e.expr)} IS ${e.not ? 'NOT ' : ''}NULL`;
    case 'exists':
      return `EXISTS (${query(e.query)})`;
    case 'subquery':
      return `(${query(e.query)})`;
    case 'call':
      return `${e.name}(${e.distinct ? 'DISTINCT ' : ''}${e.args.map(expr).join(', ')})`;
    case 'case': {
      const parts = ['CASE'];
      if (e.operand) parts.push(expr(e.operand));
      for (const w of e.whens) parts.push(`WHEN ${expr(w.when)} THEN ${expr(w.result)}`);
      if (e.else) parts.push(`ELSE ${expr(e.else)}`);
      parts.push('END');
      return parts.join(' ');
    }
    case 'cast':
      return `CAST(${expr(e.expr)} AS ${e.to.name}${e.to.length !== undefined ? `(${e.to.length})` : ''})`;
  }
}
