/**
 * The ADQL 2.1 syntax tree. Every node carries the position of its first token (`pos`) so the
 * translator can report unknown names and unsupported uses where they were written.
 */

export interface Pos {
  line: number;
  column: number;
}

/** A name: regular names match case-insensitively, quoted ("delimited") ones exactly. */
export interface Ident {
  name: string;
  quoted: boolean;
  pos: Pos;
}

export type Expr =
  | NumberLit
  | StringLit
  | NullLit
  | ColumnRef
  | Star
  | Unary
  | Binary
  | Between
  | Like
  | InList
  | InQuery
  | IsNull
  | Exists
  | Subquery
  | Call
  | Case
  | Cast;

export interface NumberLit {
  type: 'number';
  /** As written (decimal, exponent or 0x hexadecimal). */
  text: string;
  value: number;
  pos: Pos;
}
export interface StringLit {
  type: 'string';
  value: string;
  pos: Pos;
}
export interface NullLit {
  type: 'null';
  pos: Pos;
}
/** column, table.column, schema.table.column (a catalog part before the schema is allowed too). */
export interface ColumnRef {
  type: 'column';
  parts: Ident[];
  pos: Pos;
}
/** `*` or `t.*` in a select list, `*` in COUNT(*). */
export interface Star {
  type: 'star';
  table?: Ident[];
  pos: Pos;
}
export interface Unary {
  type: 'unary';
  op: '-' | '+' | 'NOT';
  operand: Expr;
  pos: Pos;
}
export type BinaryOp = '+' | '-' | '*' | '/' | '||' | '=' | '<>' | '<' | '>' | '<=' | '>=' | 'AND' | 'OR';
export interface Binary {
  type: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  pos: Pos;
}
export interface Between {
  type: 'between';
  not: boolean;
  expr: Expr;
  low: Expr;
  high: Expr;
  pos: Pos;
}
export interface Like {
  type: 'like';
  not: boolean;
  /** ILIKE (ADQL 2.1): case-insensitive. */
  caseInsensitive: boolean;
  expr: Expr;
  pattern: Expr;
  pos: Pos;
}
export interface InList {
  type: 'inList';
  not: boolean;
  expr: Expr;
  list: Expr[];
  pos: Pos;
}
export interface InQuery {
  type: 'inQuery';
  not: boolean;
  expr: Expr;
  query: AdqlQuery;
  pos: Pos;
}
export interface IsNull {
  type: 'isNull';
  not: boolean;
  expr: Expr;
  pos: Pos;
}
export interface Exists {
  type: 'exists';
  query: AdqlQuery;
  pos: Pos;
}
/** A scalar subquery. */
export interface Subquery {
  type: 'subquery';
  query: AdqlQuery;
  pos: Pos;
}
/** Function call; `name` is upper-cased. COUNT(*) has a single Star argument. */
export interface Call {
  type: 'call';
  name: string;
  distinct: boolean;
  args: Expr[];
  pos: Pos;
}
export interface Case {
  type: 'case';
  /** CASE x WHEN v … (simple form); absent for CASE WHEN cond … */
  operand?: Expr;
  /** WHEN value-or-condition THEN result. */
  whens: { when: Expr; result: Expr }[];
  else?: Expr;
  pos: Pos;
}
export interface CastType {
  /** Upper-cased: INTEGER, SMALLINT, BIGINT, REAL, DOUBLE PRECISION, CHAR, VARCHAR, TIMESTAMP… */
  name: string;
  length?: number;
}
export interface Cast {
  type: 'cast';
  expr: Expr;
  to: CastType;
  pos: Pos;
}

export interface SelectItem {
  expr: Expr;
  alias?: Ident;
  pos: Pos;
}

export type FromItem = TableRef | DerivedTable | Join;

export interface TableRef {
  type: 'table';
  /** Catalog and/or schema parts before the table name (usually just a schema). */
  qualifier: Ident[];
  name: Ident;
  alias?: Ident;
  pos: Pos;
}
export interface DerivedTable {
  type: 'derived';
  query: AdqlQuery;
  alias: Ident;
  pos: Pos;
}
export type JoinKind = 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS';
export interface Join {
  type: 'join';
  kind: JoinKind;
  natural: boolean;
  left: FromItem;
  right: FromItem;
  on?: Expr;
  using?: Ident[];
  pos: Pos;
}

export interface SelectSpec {
  type: 'select';
  quantifier?: 'DISTINCT' | 'ALL';
  top?: number;
  items: SelectItem[];
  /** Comma-separated FROM items (each may be a join tree). */
  from: FromItem[];
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  pos: Pos;
}

export interface SetOperation {
  type: 'setop';
  op: 'UNION' | 'INTERSECT' | 'EXCEPT';
  all: boolean;
  left: QueryBody;
  right: QueryBody;
  pos: Pos;
}

/** A select, a set operation, or a parenthesised query (with its own ORDER BY/OFFSET). */
export type QueryBody = SelectSpec | SetOperation | AdqlQuery;

export interface OrderItem {
  /** A column, an output alias, an ordinal (a NumberLit) or an expression. */
  expr: Expr;
  desc: boolean;
  pos: Pos;
}

export interface CommonTable {
  name: Ident;
  /** Optional column names: WITH t (a, b) AS (…). */
  columns?: Ident[];
  query: AdqlQuery;
  pos: Pos;
}

export interface AdqlQuery {
  type: 'query';
  with: CommonTable[];
  body: QueryBody;
  orderBy: OrderItem[];
  offset?: number;
  pos: Pos;
}
