import type {
  AdqlQuery,
  BinaryOp,
  CastType,
  CommonTable,
  Expr,
  FromItem,
  Ident,
  JoinKind,
  OrderItem,
  Pos,
  QueryBody,
  SelectItem,
  SelectSpec,
  TableRef,
} from './ast.ts';
import { AdqlError } from './errors.ts';
import { type Token, tokenize } from './lexer.ts';

/**
 * A recursive-descent parser for ADQL 2.1 (IVOA Recommendation 2023), one method per grammar rule.
 * Hand-written rather than generated: the grammar is small, and a hand-written parser gives exact
 * positions and "expected X, found Y" messages without a generator's runtime or build step.
 *
 * Operator precedence, loosest first: OR; AND; NOT; comparisons and predicates (BETWEEN, LIKE,
 * ILIKE, IN, IS NULL); ||; binary + and -; * and /; unary sign. In set operations INTERSECT binds
 * tighter than UNION and EXCEPT, which associate to the left (as in SQL).
 */

/**
 * Words that cannot be bare names, because they would make the grammar ambiguous (a column
 * named `from`, an alias named `where`). ADQL reserves more, but refusing a column named `size` or
 * `date` would only break queries against real tables; quote any of these to use it as a name.
 */
const RESERVED = new Set(
  (
    'SELECT FROM WHERE GROUP BY HAVING ORDER AND OR NOT AS ON JOIN INNER LEFT RIGHT FULL OUTER CROSS ' +
    'NATURAL USING UNION INTERSECT EXCEPT ALL DISTINCT TOP OFFSET WITH CASE WHEN THEN ELSE END IN IS ' +
    'NULL LIKE ILIKE BETWEEN EXISTS CAST ASC DESC'
  ).split(' '),
);

/** Keywords that may follow a table's alias. */
const AFTER_TABLE = [
  'WHERE',
  'GROUP',
  'HAVING',
  'ORDER',
  'OFFSET',
  'JOIN',
  'INNER',
  'LEFT',
  'RIGHT',
  'FULL',
  'NATURAL',
  'CROSS',
  'ON',
  'USING',
  'UNION',
  'INTERSECT',
  'EXCEPT',
];

const AGGREGATES = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX']);

const COMPARISONS: Record<string, BinaryOp> = {
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '>': '>',
  '<=': '<=',
  '>=': '>=',
};

export function parseAdql(text: string): AdqlQuery {
  return new Parser(text).parseStatement();
}

class Parser {
  private tokens: Token[];
  private i = 0;

  constructor(private text: string) {
    this.tokens = tokenize(text);
  }

  // ------------------------------------------------------------------ token helpers

  private get tok(): Token {
    return this.tokens[this.i];
  }
  private peek(k = 1): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)];
  }
  private pos(t: Token = this.tok): Pos {
    return { line: t.line, column: t.column };
  }
  /** Is the current token the keyword (a bare name, any case)? */
  private isKw(word: string, t: Token = this.tok): boolean {
    return t.type === 'name' && t.value.toUpperCase() === word;
  }
  private isOp(op: string, t: Token = this.tok): boolean {
    return t.type === 'op' && t.value === op;
  }
  private acceptKw(word: string): boolean {
    if (!this.isKw(word)) return false;
    this.i++;
    return true;
  }
  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.i++;
    return true;
  }
  private expectKw(word: string): Token {
    if (!this.isKw(word)) this.fail(word);
    return this.tokens[this.i++];
  }
  private expectOp(op: string): Token {
    if (!this.isOp(op)) this.fail(`'${op}'`);
    return this.tokens[this.i++];
  }
  /** How the current token is spelt in the query, for messages. */
  private found(t: Token = this.tok): string {
    if (t.type === 'end') return 'end of query';
    const next = this.tokens[this.tokens.indexOf(t) + 1];
    const raw = this.text.slice(t.offset, next ? next.offset : this.text.length).trimEnd();
    return `'${raw.length > 40 ? `${raw.slice(0, 40)}…` : raw}'`;
  }
  private fail(expected: string, t: Token = this.tok): never {
    throw new AdqlError(t.line, t.column, `expected ${expected}, found ${this.found(t)}`);
  }
  private error(t: Token, message: string): never {
    throw new AdqlError(t.line, t.column, message);
  }

  // ------------------------------------------------------------------ queries

  parseStatement(): AdqlQuery {
    const q = this.query();
    this.acceptOp(';');
    if (this.tok.type !== 'end') {
      // The most common slip is a clause in the wrong order (ORDER BY before WHERE, …).
      this.fail(
        this.tok.type === 'op' && this.tok.value === ')'
          ? 'end of query (unbalanced parenthesis)'
          : 'end of query',
      );
    }
    return q;
  }

  private query(): AdqlQuery {
    const pos = this.pos();
    const ctes: CommonTable[] = [];
    if (this.acceptKw('WITH')) {
      do ctes.push(this.commonTable());
      while (this.acceptOp(','));
    }
    const body = this.queryExpression();
    const orderBy: OrderItem[] = [];
    if (this.acceptKw('ORDER')) {
      this.expectKw('BY');
      do orderBy.push(this.orderItem());
      while (this.acceptOp(','));
    }
    let offset: number | undefined;
    if (this.acceptKw('OFFSET')) offset = this.unsignedInteger('a row count after OFFSET');
    return { type: 'query', with: ctes, body, orderBy, offset, pos };
  }

  private commonTable(): CommonTable {
    const pos = this.pos();
    const name = this.ident('a name for the common table expression');
    let columns: Ident[] | undefined;
    if (this.acceptOp('(')) {
      columns = [];
      do columns.push(this.ident('a column name'));
      while (this.acceptOp(','));
      this.expectOp(')');
    }
    this.expectKw('AS');
    this.expectOp('(');
    const query = this.query();
    this.expectOp(')');
    return { name, columns, query, pos };
  }

  /** UNION / EXCEPT over INTERSECT terms, left-associative. */
  private queryExpression(): QueryBody {
    let left = this.queryTerm();
    for (;;) {
      const t = this.tok;
      const op = this.isKw('UNION') ? 'UNION' : this.isKw('EXCEPT') ? 'EXCEPT' : null;
      if (!op) return left;
      this.i++;
      const all = this.acceptKw('ALL');
      if (!all) this.acceptKw('DISTINCT');
      const right = this.queryTerm();
      left = { type: 'setop', op, all, left, right, pos: this.pos(t) };
    }
  }

  private queryTerm(): QueryBody {
    let left = this.queryPrimary();
    while (this.isKw('INTERSECT')) {
      const t = this.tokens[this.i++];
      const all = this.acceptKw('ALL');
      if (!all) this.acceptKw('DISTINCT');
      const right = this.queryPrimary();
      left = { type: 'setop', op: 'INTERSECT', all, left, right, pos: this.pos(t) };
    }
    return left;
  }

  private queryPrimary(): QueryBody {
    if (this.isOp('(')) {
      this.i++;
      const q = this.query();
      this.expectOp(')');
      return q;
    }
    return this.selectSpec();
  }

  private selectSpec(): SelectSpec {
    const pos = this.pos();
    this.expectKw('SELECT');
    let quantifier: SelectSpec['quantifier'];
    let top: number | undefined;
    // ADQL puts TOP after the quantifier; many clients write it before, so both are accepted.
    for (let k = 0; k < 2; k++) {
      if (quantifier === undefined && (this.isKw('DISTINCT') || this.isKw('ALL')))
        quantifier = this.tokens[this.i++].value.toUpperCase() as 'DISTINCT' | 'ALL';
      else if (top === undefined && this.acceptKw('TOP')) top = this.unsignedInteger('a row count after TOP');
    }
    const items: SelectItem[] = [];
    do items.push(this.selectItem());
    while (this.acceptOp(','));
    this.expectKw('FROM');
    const from: FromItem[] = [];
    do from.push(this.tableReference());
    while (this.acceptOp(','));
    let where: Expr | undefined;
    if (this.acceptKw('WHERE')) where = this.expr();
    const groupBy: Expr[] = [];
    if (this.acceptKw('GROUP')) {
      this.expectKw('BY');
      do groupBy.push(this.expr());
      while (this.acceptOp(','));
    }
    let having: Expr | undefined;
    if (this.acceptKw('HAVING')) having = this.expr();
    return { type: 'select', quantifier, top, items, from, where, groupBy, having, pos };
  }

  private selectItem(): SelectItem {
    const pos = this.pos();
    if (this.acceptOp('*')) return { expr: { type: 'star', pos }, pos };
    // t.* / schema.t.*: names separated by dots, then a star.
    let k = 0;
    while (this.isNameToken(this.peek(k)) && this.isOp('.', this.peek(k + 1))) k += 2;
    if (k > 0 && this.isOp('*', this.peek(k))) {
      const table: Ident[] = [];
      for (let n = 0; n < k; n += 2) {
        table.push(this.ident('a table name'));
        this.expectOp('.');
      }
      this.expectOp('*');
      return { expr: { type: 'star', table, pos }, pos };
    }
    const expr = this.expr();
    let alias: Ident | undefined;
    if (this.acceptKw('AS')) alias = this.ident('an alias after AS');
    else if (this.implicitAlias(['FROM'])) alias = this.ident('an alias');
    return { expr, alias, pos };
  }

  private orderItem(): OrderItem {
    const pos = this.pos();
    const expr = this.expr();
    let desc = false;
    if (this.acceptKw('DESC')) desc = true;
    else this.acceptKw('ASC');
    return { expr, desc, pos };
  }

  private unsignedInteger(what: string): number {
    const t = this.tok;
    if (t.type !== 'number' || !/^(\d+|0[xX][0-9a-fA-F]+)$/.test(t.value)) this.fail(what);
    this.i++;
    const n = Number(t.value);
    if (!Number.isSafeInteger(n)) this.error(t, `${t.value} is too large`);
    return n;
  }

  // ------------------------------------------------------------------ FROM

  private tableReference(): FromItem {
    let left = this.tablePrimary();
    for (;;) {
      const t = this.tok;
      let natural = false;
      let kind: JoinKind | null = null;
      if (this.acceptKw('CROSS')) {
        this.expectKw('JOIN');
        const right = this.tablePrimary();
        left = { type: 'join', kind: 'CROSS', natural: false, left, right, pos: this.pos(t) };
        continue;
      }
      if (this.acceptKw('NATURAL')) natural = true;
      if (this.acceptKw('INNER')) kind = 'INNER';
      else if (this.isKw('LEFT') || this.isKw('RIGHT') || this.isKw('FULL')) {
        kind = this.tokens[this.i++].value.toUpperCase() as JoinKind;
        this.acceptKw('OUTER');
      }
      if (!this.isKw('JOIN')) {
        if (natural || kind) this.fail('JOIN');
        return left;
      }
      this.i++;
      const right = this.tablePrimary();
      const join: FromItem = { type: 'join', kind: kind ?? 'INNER', natural, left, right, pos: this.pos(t) };
      if (!natural) {
        if (this.acceptKw('ON')) join.on = this.expr();
        else if (this.acceptKw('USING')) {
          this.expectOp('(');
          join.using = [];
          do join.using.push(this.ident('a column name'));
          while (this.acceptOp(','));
          this.expectOp(')');
        } else this.fail('ON or USING');
      }
      left = join;
    }
  }

  private tablePrimary(): FromItem {
    const pos = this.pos();
    if (this.isOp('(')) {
      // A subquery, or a parenthesised join: look past the opening parentheses for SELECT/WITH.
      let k = 0;
      while (this.isOp('(', this.peek(k))) k++;
      const first = this.peek(k);
      if (this.isKw('SELECT', first) || this.isKw('WITH', first)) {
        this.i++;
        const query = this.query();
        this.expectOp(')');
        this.acceptKw('AS');
        const alias = this.ident('an alias for the subquery (ADQL requires one)');
        return { type: 'derived', query, alias, pos };
      }
      this.i++;
      const inner = this.tableReference();
      this.expectOp(')');
      return inner;
    }
    const parts: Ident[] = [this.ident('a table name')];
    while (this.acceptOp('.')) parts.push(this.ident('a table name'));
    if (parts.length > 3)
      this.error(this.tokens[this.i - 1], 'a table name has at most catalog.schema.table');
    const name = parts.pop() as Ident;
    const ref: TableRef = { type: 'table', qualifier: parts, name, pos };
    if (this.acceptKw('AS')) ref.alias = this.ident('an alias after AS');
    else if (this.implicitAlias(AFTER_TABLE)) ref.alias = this.ident('an alias');
    return ref;
  }

  // ------------------------------------------------------------------ names

  private isNameToken(t: Token): boolean {
    return t.type === 'quoted' || (t.type === 'name' && !RESERVED.has(t.value.toUpperCase()));
  }

  /**
   * Is the current token an alias written without AS? Only when what follows could follow an
   * alias: otherwise a misspelt keyword (`FORM`, `WHER`) would be taken for an alias and the error
   * reported a token too late.
   */
  private implicitAlias(followers: string[]): boolean {
    if (!this.isNameToken(this.tok)) return false;
    const next = this.peek();
    if (next.type === 'end' || this.isOp(',', next) || this.isOp(')', next) || this.isOp(';', next))
      return true;
    return followers.some((w) => this.isKw(w, next));
  }

  private ident(what: string): Ident {
    const t = this.tok;
    if (!this.isNameToken(t)) {
      if (t.type === 'name')
        this.error(
          t,
          `expected ${what}, found reserved word ${this.found(t)} (quote it to use it as a name)`,
        );
      this.fail(what);
    }
    this.i++;
    return { name: t.value, quoted: t.type === 'quoted', pos: this.pos(t) };
  }

  // ------------------------------------------------------------------ expressions

  expr(): Expr {
    return this.orExpr();
  }

  private orExpr(): Expr {
    let left = this.andExpr();
    while (this.isKw('OR')) {
      const t = this.tokens[this.i++];
      left = { type: 'binary', op: 'OR', left, right: this.andExpr(), pos: this.pos(t) };
    }
    return left;
  }

  private andExpr(): Expr {
    let left = this.notExpr();
    while (this.isKw('AND')) {
      const t = this.tokens[this.i++];
      left = { type: 'binary', op: 'AND', left, right: this.notExpr(), pos: this.pos(t) };
    }
    return left;
  }

  private notExpr(): Expr {
    if (this.isKw('NOT')) {
      const pos = this.pos();
      this.i++;
      return { type: 'unary', op: 'NOT', operand: this.notExpr(), pos };
    }
    return this.predicate();
  }

  private predicate(): Expr {
    const pos = this.pos();
    if (this.isKw('EXISTS')) {
      this.i++;
      this.expectOp('(');
      const query = this.query();
      this.expectOp(')');
      return { type: 'exists', query, pos };
    }
    const left = this.concatExpr();
    const t = this.tok;
    if (t.type === 'op' && COMPARISONS[t.value]) {
      this.i++;
      return { type: 'binary', op: COMPARISONS[t.value], left, right: this.concatExpr(), pos: this.pos(t) };
    }
    if (this.isKw('IS')) {
      this.i++;
      const not = this.acceptKw('NOT');
      this.expectKw('NULL');
      return { type: 'isNull', not, expr: left, pos: this.pos(t) };
    }
    const not = this.isKw('NOT') && ['BETWEEN', 'LIKE', 'ILIKE', 'IN'].some((w) => this.isKw(w, this.peek()));
    if (not) this.i++;
    if (this.acceptKw('BETWEEN')) {
      const low = this.concatExpr();
      this.expectKw('AND');
      const high = this.concatExpr();
      return { type: 'between', not, expr: left, low, high, pos: this.pos(t) };
    }
    if (this.isKw('LIKE') || this.isKw('ILIKE')) {
      const caseInsensitive = this.isKw('ILIKE');
      this.i++;
      return { type: 'like', not, caseInsensitive, expr: left, pattern: this.concatExpr(), pos: this.pos(t) };
    }
    if (this.acceptKw('IN')) {
      this.expectOp('(');
      if (this.isKw('SELECT') || this.isKw('WITH')) {
        const query = this.query();
        this.expectOp(')');
        return { type: 'inQuery', not, expr: left, query, pos: this.pos(t) };
      }
      const list: Expr[] = [];
      do list.push(this.expr());
      while (this.acceptOp(','));
      this.expectOp(')');
      return { type: 'inList', not, expr: left, list, pos: this.pos(t) };
    }
    return left;
  }

  private concatExpr(): Expr {
    let left = this.additive();
    while (this.isOp('||')) {
      const t = this.tokens[this.i++];
      left = { type: 'binary', op: '||', left, right: this.additive(), pos: this.pos(t) };
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.tokens[this.i++];
      left = {
        type: 'binary',
        op: t.value as '+' | '-',
        left,
        right: this.multiplicative(),
        pos: this.pos(t),
      };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/')) {
      const t = this.tokens[this.i++];
      left = { type: 'binary', op: t.value as '*' | '/', left, right: this.unary(), pos: this.pos(t) };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.tokens[this.i++];
      return { type: 'unary', op: t.value as '-' | '+', operand: this.unary(), pos: this.pos(t) };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.tok;
    const pos = this.pos(t);
    if (t.type === 'number') {
      this.i++;
      return { type: 'number', text: t.value, value: Number(t.value), pos };
    }
    if (t.type === 'string') {
      this.i++;
      // SQL joins adjacent string literals ('abc' 'def' is 'abcdef'), as when a long one is split.
      let value = t.value;
      while (this.tok.type === 'string') value += this.tokens[this.i++].value;
      return { type: 'string', value, pos };
    }
    if (this.isOp('(')) {
      this.i++;
      if (this.isKw('SELECT') || this.isKw('WITH')) {
        const query = this.query();
        this.expectOp(')');
        return { type: 'subquery', query, pos };
      }
      const inner = this.expr();
      this.expectOp(')');
      return inner;
    }
    if (this.acceptKw('NULL')) return { type: 'null', pos };
    if (this.isKw('CASE')) return this.caseExpr();
    if (this.isKw('CAST')) return this.castExpr();
    if (t.type === 'name' && this.isOp('(', this.peek()) && !RESERVED.has(t.value.toUpperCase()))
      return this.call();
    if (this.isNameToken(t)) {
      const parts: Ident[] = [this.ident('a column name')];
      while (this.isOp('.')) {
        this.i++;
        parts.push(this.ident('a column name after the dot'));
      }
      if (parts.length > 4) this.error(t, 'a column name has at most catalog.schema.table.column');
      return { type: 'column', parts, pos };
    }
    this.fail('an expression');
  }

  private call(): Expr {
    const t = this.tokens[this.i++];
    const name = t.value.toUpperCase();
    const pos = this.pos(t);
    this.expectOp('(');
    let distinct = false;
    const args: Expr[] = [];
    if (AGGREGATES.has(name)) {
      if (this.acceptKw('DISTINCT')) distinct = true;
      else this.acceptKw('ALL');
      if (name === 'COUNT' && !distinct && this.isOp('*')) {
        args.push({ type: 'star', pos: this.pos() });
        this.i++;
        this.expectOp(')');
        return { type: 'call', name, distinct, args, pos };
      }
    }
    if (!this.isOp(')')) {
      do args.push(this.expr());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    return { type: 'call', name, distinct, args, pos };
  }

  private caseExpr(): Expr {
    const pos = this.pos();
    this.expectKw('CASE');
    const operand = this.isKw('WHEN') ? undefined : this.expr();
    const whens: { when: Expr; result: Expr }[] = [];
    while (this.acceptKw('WHEN')) {
      const when = this.expr();
      this.expectKw('THEN');
      whens.push({ when, result: this.expr() });
    }
    if (!whens.length) this.fail('WHEN');
    let otherwise: Expr | undefined;
    if (this.acceptKw('ELSE')) otherwise = this.expr();
    this.expectKw('END');
    return { type: 'case', operand, whens, else: otherwise, pos };
  }

  private castExpr(): Expr {
    const pos = this.pos();
    this.expectKw('CAST');
    this.expectOp('(');
    const expr = this.expr();
    this.expectKw('AS');
    const t = this.tok;
    if (t.type !== 'name') this.fail('a type name');
    this.i++;
    let name = t.value.toUpperCase();
    if (name === 'DOUBLE') {
      this.expectKw('PRECISION');
      name = 'DOUBLE PRECISION';
    } else if (name === 'CHARACTER' && this.acceptKw('VARYING')) name = 'VARCHAR';
    else if (name === 'CHARACTER') name = 'CHAR';
    if (!CAST_TYPES.has(name))
      this.error(t, `expected a type (${[...CAST_TYPES].join(', ')}), found ${this.found(t)}`);
    const to: CastType = { name };
    if ((name === 'CHAR' || name === 'VARCHAR') && this.acceptOp('(')) {
      to.length = this.unsignedInteger('a length');
      this.expectOp(')');
    }
    this.expectOp(')');
    return { type: 'cast', expr, to, pos };
  }
}

/** The target types of CAST in ADQL 2.1 (geometry types are not castable here). */
export const CAST_TYPES = new Set([
  'INTEGER',
  'SMALLINT',
  'BIGINT',
  'REAL',
  'DOUBLE PRECISION',
  'CHAR',
  'VARCHAR',
  'TIMESTAMP',
]);
