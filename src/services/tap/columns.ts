// Column metadata as TAP publishes it (TAP_SCHEMA.columns, /tables, VOTable FIELDs), and the
// mapping of a result column's declared type to the VOTable datatype its values are written as.
import type { ColumnMeta } from './adql/index.ts';

/** VOTable datatypes the writers produce. */
export type VoType = 'boolean' | 'short' | 'int' | 'long' | 'float' | 'double' | 'char' | 'unicodeChar';

/** A column of a published table: ADQL's ColumnMeta plus what TAP_SCHEMA and VOTable need. */
export interface TapColumn extends ColumnMeta {
  /** A VOTable datatype (TAP 1.1 publishes VOTable types in TAP_SCHEMA). */
  datatype: VoType;
  /** "*" for variable-length strings. */
  arraysize?: string;
  /** DALI/ADQL extended type: adql:REGION, timestamp… */
  xtype?: string;
  principal?: boolean;
  indexed?: boolean;
  /** Defined by a standard (ObsCore, TAP_SCHEMA). */
  std?: boolean;
}

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

/** ADQL and SQL type names (as a translator may report them) → VOTable datatypes. */
const SQL_TYPES: Record<string, VoType> = {
  boolean: 'boolean',
  bool: 'boolean',
  smallint: 'short',
  short: 'short',
  int: 'int',
  integer: 'int',
  bigint: 'long',
  long: 'long',
  real: 'float',
  float: 'float',
  double: 'double',
  'double precision': 'double',
  numeric: 'double',
  char: 'char',
  varchar: 'char',
  text: 'char',
  clob: 'char',
  unicodechar: 'unicodeChar',
  timestamp: 'char',
  point: 'char',
  circle: 'char',
  polygon: 'char',
  region: 'char',
  box: 'char',
  shape: 'char',
};

// Geometry values are written as STC-S strings (TAP 1.0's adql:POINT / adql:REGION), not DALI arrays.
const GEOMETRY_XTYPE: Record<string, string> = {
  point: 'adql:POINT',
  circle: 'adql:REGION',
  polygon: 'adql:REGION',
  region: 'adql:REGION',
  box: 'adql:REGION',
  shape: 'adql:REGION',
  timestamp: 'timestamp',
};

/** A declared type name → the VOTable datatype, or undefined when unknown. */
export function voTypeOf(datatype: string | undefined): VoType | undefined {
  if (!datatype) return undefined;
  const base = datatype
    .toLowerCase()
    .replace(/^adql:/, '')
    .replace(/\(.*$/, '')
    .trim();
  return SQL_TYPES[base];
}

/** The xtype a declared type implies (adql:REGION, point, timestamp…), if any. */
export function xtypeOf(col: ColumnMeta & { xtype?: string }): string | undefined {
  if (col.xtype) return col.xtype;
  const base = (col.datatype ?? '')
    .toLowerCase()
    .replace(/^adql:/, '')
    .replace(/\(.*$/, '')
    .trim();
  if (GEOMETRY_XTYPE[base]) return GEOMETRY_XTYPE[base];
  if (col.ucd?.toLowerCase() === 'pos.outline;obs.field') return 'adql:REGION';
  return undefined;
}

const INTEGER_TYPES = new Set<VoType>(['short', 'int', 'long']);
const RANGES: Record<'short' | 'int', [number, number]> = {
  short: [-32768, 32767],
  int: [-2147483648, 2147483647],
};

/**
 * The datatype a result column is written as: its declared type when every value fits it, else
 * the type its values show (an AVG of integers is a double; SQLite's booleans are 0/1 and fit).
 */
export function resolveType(declared: VoType | undefined, values: readonly unknown[]): VoType {
  let allInt = true;
  let allNum = true;
  let allBool = true;
  let ascii = true;
  let seen = false;
  let min = 0;
  let max = 0;
  for (const v of values) {
    if (isNull(v)) continue;
    seen = true;
    const num = typeof v === 'number' || typeof v === 'bigint';
    if (!num) allNum = allInt = false;
    else if (typeof v === 'number' && !Number.isInteger(v)) allInt = false;
    else if (allInt) {
      const n = Number(v);
      if (n < min) min = n;
      if (n > max) max = n;
    }
    if (typeof v !== 'boolean' && !(num && (Number(v) === 0 || Number(v) === 1))) allBool = false;
    if (!num && typeof v !== 'boolean' && ascii && !/^[\u0000-\u007f]*$/.test(String(v))) ascii = false;
  }
  if (declared === 'char' || declared === 'unicodeChar' || (!declared && seen && !allNum && !allBool))
    return ascii && declared !== 'unicodeChar' ? 'char' : 'unicodeChar';
  if (!seen) return declared ?? 'char';
  if (declared === 'boolean') return allBool ? 'boolean' : allNum ? (allInt ? 'long' : 'double') : 'char';
  if (declared && INTEGER_TYPES.has(declared)) {
    if (!allNum) return ascii ? 'char' : 'unicodeChar';
    if (!allInt) return 'double';
    if (declared === 'long') return 'long';
    const [lo, hi] = RANGES[declared as 'short' | 'int'];
    return min >= lo && max <= hi ? declared : 'long';
  }
  if (declared === 'float' || declared === 'double')
    return allNum ? declared : ascii ? 'char' : 'unicodeChar';
  // Not declared: what the values are.
  if (allBool && values.some((v) => typeof v === 'boolean')) return 'boolean';
  if (allNum) return allInt ? 'long' : 'double';
  return ascii ? 'char' : 'unicodeChar';
}

/** A result column, ready for the writers. */
export interface OutColumn {
  name: string;
  datatype: VoType;
  arraysize?: string;
  unit?: string;
  ucd?: string;
  utype?: string;
  xtype?: string;
  description?: string;
}

/** Result columns from the translator's metadata and the rows' values. */
export function outColumns(
  cols: readonly (ColumnMeta & { xtype?: string; arraysize?: string })[],
  rows: readonly Record<string, unknown>[],
): OutColumn[] {
  return cols.map((c) => {
    const datatype = resolveType(
      voTypeOf(c.datatype),
      rows.map((r) => r[c.name]),
    );
    const text = datatype === 'char' || datatype === 'unicodeChar';
    const xtype = xtypeOf(c);
    return {
      name: c.name,
      datatype,
      ...(text ? { arraysize: '*' } : {}),
      ...(c.unit ? { unit: c.unit } : {}),
      ...(c.ucd ? { ucd: c.ucd } : {}),
      ...(c.utype ? { utype: c.utype } : {}),
      ...(xtype && (text || xtype === 'timestamp') ? { xtype } : {}),
      ...(c.description ? { description: c.description } : {}),
    };
  });
}
