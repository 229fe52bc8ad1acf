// The ADQL 2.1 grammar: every construct, precedence, error positions, and a round trip
// (parse → print → parse gives the same tree) over a corpus of queries from the IVOA
// specifications (ADQL 2.1, TAP 1.1, ObsCore 1.1) and client documentation (pyvo, astroquery, TOPCAT).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AdqlQuery,
  AdqlError,
  type Expr,
  parseAdql,
  printAdql,
  type SelectSpec,
} from '../../../src/services/tap/adql/index.ts';

/** The tree without positions, for comparing trees parsed from different texts. */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x && typeof x === 'object')
    return Object.fromEntries(
      Object.entries(x)
        .filter(([k, v]) => k !== 'pos' && v !== undefined)
        .map(([k, v]) => [k, strip(v)]),
    );
  return x;
}

const select = (q: string) => parseAdql(q).body as SelectSpec;
const where = (cond: string) => select(`SELECT a FROM t WHERE ${cond}`).where as Expr;
const item = (e: string) => select(`SELECT ${e} FROM t`).items[0].expr;

/** An expression as a fully parenthesised string, to check how it grouped. */
function shape(e: Expr): string {
  switch (e.type) {
    case 'binary':
      return `(${shape(e.left)} ${e.op} ${shape(e.right)})`;
    case 'unary':
      return `(${e.op} ${shape(e.operand)})`;
    case 'column':
      return e.parts.map((p) => p.name).join('.');
    case 'number':
      return e.text;
    case 'string':
      return `'${e.value}'`;
    case 'between':
      return `(${shape(e.expr)}${e.not ? ' NOT' : ''} BETWEEN ${shape(e.low)} AND ${shape(e.high)})`;
    case 'like':
      return `(${shape(e.expr)}${e.not ? ' NOT' : ''} ${e.caseInsensitive ? 'ILIKE' : 'LIKE'} ${shape(e.pattern)})`;
    case 'isNull':
      return `(${shape(e.expr)} IS${e.not ? ' NOT' : ''} NULL)`;
    case 'call':
      return `${e.name}(${e.args.map(shape).join(', ')})`;
    default:
      return e.type;
  }
}

function fails(q: string, line: number, column: number, message: RegExp | string) {
  assert.throws(
    () => parseAdql(q),
    (e: unknown) => {
      assert.ok(e instanceof AdqlError, `not an AdqlError: ${e}`);
      assert.equal(`${e.line}:${e.column}`, `${line}:${column}`, e.message);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe('lexing', () => {
  test('names, quoted names, strings, numbers, comments', () => {
    const s = select(`SELECT "Weird ""name""", 'it''s', 1, 1.5, .5, 2., 1e3, 1.5E-3, 0x1F -- a comment
      /* a block
         comment */ FROM t`);
    const [q, str, ...nums] = s.items.map((i) => i.expr);
    assert.deepEqual(strip(q), { type: 'column', parts: [{ name: 'Weird "name"', quoted: true }] });
    assert.deepEqual(strip(str), { type: 'string', value: "it's" });
    assert.deepEqual(
      nums.map((n) => (n.type === 'number' ? [n.text, n.value] : null)),
      [
        ['1', 1],
        ['1.5', 1.5],
        ['.5', 0.5],
        ['2.', 2],
        ['1e3', 1000],
        ['1.5E-3', 0.0015],
        ['0x1F', 31],
      ],
    );
  });
  test('adjacent string literals join; keywords are case-insensitive', () => {
    const s = select("select 'abc' 'def' from t where A = 1 Order By a dEsC");
    assert.deepEqual(strip(s.items[0].expr), { type: 'string', value: 'abcdef' });
    assert.equal(parseAdql('select a from t order by a desc').orderBy[0].desc, true);
  });
  test('lexical errors name the place', () => {
    fails("SELECT 'abc FROM t", 1, 8, /unterminated string/);
    fails('SELECT a FROM t WHERE a = 12abc', 1, 27, /malformed number/);
    fails('SELECT a FROM t\nWHERE a = #', 2, 11, /unexpected character '#'/);
    fails('SELECT "" FROM t', 1, 8, /empty quoted identifier/);
    fails('SELECT a /* open', 1, 10, /unterminated comment/);
  });
});

describe('select clauses', () => {
  test('TOP, DISTINCT, ALL (either order), aliases with and without AS, * and t.*', () => {
    const s = select('SELECT DISTINCT TOP 10 a AS x, b y, t.*, s.t.*, * FROM s.t');
    assert.equal(s.quantifier, 'DISTINCT');
    assert.equal(s.top, 10);
    assert.deepEqual(
      s.items.map((i) => [i.expr.type, i.alias?.name]),
      [
        ['column', 'x'],
        ['column', 'y'],
        ['star', undefined],
        ['star', undefined],
        ['star', undefined],
      ],
    );
    assert.deepEqual(strip(s.items[3].expr), {
      type: 'star',
      table: [
        { name: 's', quoted: false },
        { name: 't', quoted: false },
      ],
    });
    const t = select('SELECT TOP 5 ALL a FROM t');
    assert.equal(t.top, 5);
    assert.equal(t.quantifier, 'ALL');
  });
  test('FROM: schema-qualified tables, aliases, subqueries, every join', () => {
    const s = select(`SELECT * FROM ivoa.obscore AS o
      INNER JOIN a ON o.x = a.x LEFT OUTER JOIN b USING (id, k) RIGHT JOIN c ON 1 = 1 FULL OUTER JOIN d ON 1 = 1
      NATURAL JOIN e CROSS JOIN f, (SELECT 1 AS one FROM g) AS sub, "Quoted Table" q, cat.sch.tab`);
    assert.equal(s.from.length, 4);
    const kinds: string[] = [];
    let j = s.from[0];
    while (j.type === 'join') {
      kinds.unshift(
        `${j.natural ? 'NATURAL ' : ''}${j.kind}${j.using ? ` USING ${j.using.map((u) => u.name)}` : ''}`,
      );
      j = j.left;
    }
    assert.deepEqual(kinds, ['INNER', 'LEFT USING id,k', 'RIGHT', 'FULL', 'NATURAL INNER', 'CROSS']);
    assert.deepEqual(strip(j), {
      type: 'table',
      qualifier: [{ name: 'ivoa', quoted: false }],
      name: { name: 'obscore', quoted: false },
      alias: { name: 'o', quoted: false },
    });
    assert.equal(s.from[1].type, 'derived');
    assert.deepEqual(strip(s.from[2]), {
      type: 'table',
      qualifier: [],
      name: { name: 'Quoted Table', quoted: true },
      alias: { name: 'q', quoted: false },
    });
    assert.equal(s.from[3].type === 'table' && s.from[3].qualifier.length, 2);
  });
  test('parenthesised joins', () => {
    const s = select('SELECT * FROM a JOIN (b JOIN c ON b.x = c.x) ON a.y = b.y');
    const f = s.from[0];
    assert.ok(f.type === 'join' && f.right.type === 'join');
  });
  test('WHERE, GROUP BY, HAVING, ORDER BY (names, ordinals, expressions, ASC/DESC), OFFSET', () => {
    const q = parseAdql(
      'SELECT a, COUNT(*) FROM t WHERE b > 1 GROUP BY a, t.c HAVING COUNT(*) > 2 ORDER BY 2 DESC, a ASC, ABS(b) OFFSET 20',
    );
    const s = q.body as SelectSpec;
    assert.equal(s.groupBy.length, 2);
    assert.ok(s.having);
    assert.deepEqual(
      q.orderBy.map((o) => [shape(o.expr), o.desc]),
      [
        ['2', true],
        ['a', false],
        ['ABS(b)', false],
      ],
    );
    assert.equal(q.offset, 20);
  });
  test('set operations: INTERSECT binds tighter, others left to right; ALL; parentheses', () => {
    const q = parseAdql(
      'SELECT a FROM x UNION SELECT a FROM y INTERSECT SELECT a FROM z EXCEPT ALL SELECT a FROM w ORDER BY a',
    );
    const b = q.body;
    assert.ok(b.type === 'setop' && b.op === 'EXCEPT' && b.all);
    assert.ok(b.left.type === 'setop' && b.left.op === 'UNION');
    assert.ok(b.left.right.type === 'setop' && b.left.right.op === 'INTERSECT');
    assert.equal(q.orderBy.length, 1);
    const p = parseAdql('(SELECT a FROM x UNION SELECT a FROM y) INTERSECT SELECT a FROM z').body;
    assert.ok(p.type === 'setop' && p.op === 'INTERSECT' && p.left.type === 'query');
  });
  test('WITH: several common tables, column lists', () => {
    const q = parseAdql('WITH a (x, y) AS (SELECT 1, 2 FROM t), b AS (SELECT x FROM a) SELECT * FROM b');
    assert.deepEqual(
      q.with.map((c) => [c.name.name, c.columns?.map((x) => x.name)]),
      [
        ['a', ['x', 'y']],
        ['b', undefined],
      ],
    );
  });
});

describe('expressions', () => {
  test('precedence: OR < AND < NOT < comparison < || < + - < * / < unary', () => {
    assert.equal(shape(where('a = 1 OR b = 2 AND NOT c = 3')), '((a = 1) OR ((b = 2) AND (NOT (c = 3))))');
    assert.equal(shape(item('1 + 2 * 3 - 4 / 2')), '((1 + (2 * 3)) - (4 / 2))');
    assert.equal(shape(item('-a * b')), '((- a) * b)');
    assert.equal(shape(item("a || b + 1 || 'x'")), "((a || (b + 1)) || 'x')");
    assert.equal(shape(where('a + 1 > b * 2')), '((a + 1) > (b * 2))');
    assert.equal(shape(where('(a = 1 OR b = 2) AND c = 3')), '(((a = 1) OR (b = 2)) AND (c = 3))');
    assert.equal(shape(item('a - b - c')), '((a - b) - c)');
    assert.equal(shape(item('a / b * c')), '((a / b) * c)');
  });
  test('comparison operators, != as <>', () => {
    for (const op of ['=', '<>', '<', '>', '<=', '>='])
      assert.equal(shape(where(`a ${op} 1`)), `(a ${op} 1)`);
    assert.equal(shape(where('a != 1')), '(a <> 1)');
  });
  test('predicates: BETWEEN, LIKE, ILIKE, IN, IS NULL and their negations', () => {
    assert.equal(
      shape(where('a BETWEEN 1 AND 2 AND b NOT BETWEEN c + 1 AND 3')),
      '((a BETWEEN 1 AND 2) AND (b NOT BETWEEN (c + 1) AND 3))',
    );
    assert.equal(shape(where("a LIKE 'x%' OR a NOT ILIKE '%Y'")), "((a LIKE 'x%') OR (a NOT ILIKE '%Y'))");
    assert.equal(shape(where('a IS NULL AND b IS NOT NULL')), '((a IS NULL) AND (b IS NOT NULL))');
    const inl = where("a NOT IN (1, 2, 'x')");
    assert.ok(inl.type === 'inList' && inl.not && inl.list.length === 3);
    const inq = where('a IN (SELECT b FROM u)');
    assert.ok(inq.type === 'inQuery' && !inq.not);
  });
  test('subqueries: EXISTS, scalar, NOT EXISTS', () => {
    const e = where('NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a) AND a > (SELECT AVG(a) FROM u)');
    assert.ok(e.type === 'binary' && e.left.type === 'unary' && e.left.operand.type === 'exists');
    assert.ok(e.type === 'binary' && e.right.type === 'binary' && e.right.right.type === 'subquery');
  });
  test('CASE (both forms) and CAST', () => {
    const c = item("CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END");
    assert.ok(c.type === 'case' && !c.operand && c.whens.length === 2 && c.else);
    const s = item("CASE a WHEN 1 THEN 'one' END");
    assert.ok(s.type === 'case' && s.operand && !s.else);
    for (const [t, name, len] of [
      ['INTEGER', 'INTEGER', undefined],
      ['double precision', 'DOUBLE PRECISION', undefined],
      ['VARCHAR(12)', 'VARCHAR', 12],
      ['CHAR(3)', 'CHAR', 3],
      ['BIGINT', 'BIGINT', undefined],
      ['REAL', 'REAL', undefined],
      ['SMALLINT', 'SMALLINT', undefined],
      ['TIMESTAMP', 'TIMESTAMP', undefined],
    ] as const) {
      const e = item(`CAST(a AS ${t})`);
      assert.ok(e.type === 'cast');
      assert.deepEqual(strip(e.to), len === undefined ? { name } : { name, length: len });
    }
  });
  test('functions: math, string, aggregates with DISTINCT and *, geometry with a frame', () => {
    for (const f of [
      'ABS(a)',
      'CEILING(a)',
      'DEGREES(a)',
      'EXP(a)',
      'FLOOR(a)',
      'LOG(a)',
      'LOG10(a)',
      'MOD(a, 2)',
      'PI()',
      'POWER(a, 2)',
      'RADIANS(a)',
      'SQRT(a)',
      'RAND()',
      'RAND(3)',
      'ROUND(a, 2)',
      'TRUNCATE(a, 1)',
      'ACOS(a)',
      'ASIN(a)',
      'ATAN(a)',
      'ATAN2(a, b)',
      'COS(a)',
      'COT(a)',
      'SIN(a)',
      'TAN(a)',
      'LOWER(a)',
      'UPPER(a)',
      'TRIM(a)',
    ])
      assert.equal(
        shape(item(f)).replace(/\s/g, ''),
        f.replace(/\s/g, '').toUpperCase().replace(/\bA\b/g, 'a').replace(/\bB\b/g, 'b'),
      );
    const c = item('COUNT(DISTINCT a)');
    assert.ok(c.type === 'call' && c.distinct);
    const star = item('count(*)');
    assert.ok(star.type === 'call' && star.name === 'COUNT' && star.args[0].type === 'star');
    const g = where("CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 0.5)) = 1");
    assert.equal(shape(g), "(CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 0.5)) = 1)");
  });
  test('qualified column names up to catalog.schema.table.column; reserved words need quotes', () => {
    assert.equal(shape(item('c.s.t.col')), 'c.s.t.col');
    assert.equal(shape(item('"select"')), 'select');
    fails('SELECT a FROM t AS select', 1, 20, /reserved word 'select'/);
  });
});

describe('syntax errors name the position and what was expected', () => {
  test('a misspelt keyword', () => {
    fails(
      'SELECT obs_id, s_ra, s_dec FORM ivoa.obscore',
      1,
      28,
      "line 1, column 28: expected FROM, found 'FORM'",
    );
    fails('SELECT a FROM t WHER a > 1', 1, 17, /expected end of query, found 'WHER'/);
  });
  test('missing pieces', () => {
    fails('SELECT FROM t', 1, 8, /expected an expression, found 'FROM'/);
    fails('SELECT a FROM t WHERE', 1, 22, /expected an expression, found end of query/);
    fails('SELECT a FROM t WHERE a BETWEEN 1', 1, 34, /expected AND/);
    fails('SELECT a FROM t WHERE (a = 1', 1, 29, /expected '\)'/);
    fails('SELECT a FROM t JOIN u', 1, 23, /expected ON or USING/);
    fails('SELECT a FROM (SELECT a FROM t)', 1, 32, /expected an alias for the subquery/);
    fails('SELECT TOP x a FROM t', 1, 12, /expected a row count after TOP/);
    fails('SELECT a FROM t ORDER a', 1, 23, /expected BY/);
    fails('SELECT CAST(a AS BLOB) FROM t', 1, 18, /expected a type/);
    fails('SELECT a FROM t LEFT u', 1, 22, /expected JOIN/);
    fails('SELECT CASE END FROM t', 1, 13, /expected an expression|expected WHEN/);
  });
  test('positions on later lines', () => {
    fails('SELECT a\nFROM t\nWHERE a = = 1', 3, 11, /expected an expression, found '='/);
    fails('SELECT a\n  FROM t)', 2, 9, /unbalanced parenthesis/);
  });
});

// Queries as published: the ADQL 2.1 and TAP 1.1 recommendations, ObsCore 1.1's appendix of use
// cases, pyvo's and astroquery's documentation, TOPCAT examples.
const CORPUS = [
  // ADQL 2.1 §2 and examples
  "SELECT TOP 100 * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.68, 41.27, 0.5))",
  'SELECT ra, dec FROM photoobj WHERE CONTAINS(POINT(ra, dec), CIRCLE(180, 0, 0.1)) = 1 ORDER BY ra',
  "SELECT * FROM mytable WHERE 1 = INTERSECTS(region, POLYGON('ICRS', 10, 20, 11, 20, 11, 21, 10, 21))",
  'SELECT DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) AS dist FROM cat1 AS a JOIN cat2 AS b ON 1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 0.001))',
  'SELECT AREA(CIRCLE(10, 20, 1)), COORD1(POINT(1, 2)), COORD2(POINT(1, 2)) FROM t',
  "SELECT * FROM t WHERE CONTAINS(POINT('ICRS', ra, dec), BOX('ICRS', 10, 20, 2, 1)) = 1",
  'SELECT * FROM t WHERE CONTAINS(POINT(ra, dec), POLYGON(POINT(1, 1), POINT(2, 1), POINT(2, 2))) = 1',
  'SELECT * FROM t WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(POINT(10, 20), 1))',
  "SELECT TOP 10 * FROM t WHERE name ILIKE 'm%31' AND LOWER(kind) = 'galaxy' OFFSET 10",
  'WITH sample AS (SELECT * FROM gaiadr3.gaia_source WHERE parallax > 10) SELECT COUNT(*) FROM sample',
  'SELECT source_id FROM gaiadr3.gaia_source WHERE phot_g_mean_mag < 10 UNION SELECT source_id FROM gaiadr3.gaia_source WHERE parallax > 100',
  "SELECT CAST(source_id AS VARCHAR(20)) || 'x' FROM gaiadr3.gaia_source",
  "SELECT x, CASE WHEN x > 0 THEN 'pos' WHEN x < 0 THEN 'neg' ELSE 'zero' END AS sgn FROM t",
  'SELECT 0x7FFFFFFF AS big, 1E-5 AS small FROM t',
  // TAP 1.1 / TAP_SCHEMA
  'SELECT * FROM TAP_SCHEMA.tables',
  "SELECT column_name, datatype, unit, ucd FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore' ORDER BY column_index",
  'SELECT k.from_table, k.target_table, c.from_column, c.target_column FROM TAP_SCHEMA.keys AS k JOIN TAP_SCHEMA.key_columns AS c ON k.key_id = c.key_id',
  "SELECT schema_name, table_name FROM TAP_SCHEMA.tables WHERE schema_name NOT IN ('TAP_SCHEMA')",
  // ObsCore 1.1 appendix use cases
  "SELECT * FROM ivoa.obscore WHERE dataproduct_type = 'image' AND calib_level > 1 AND CONTAINS(POINT('ICRS', 16.0, 40.0), s_region) = 1 AND em_min < 650E-9 AND em_max > 650E-9",
  "SELECT * FROM ivoa.obscore WHERE dataproduct_type = 'spectrum' AND INTERSECTS(CIRCLE('ICRS', 10.68, 41.27, 0.5), s_region) = 1 AND em_res_power > 1000",
  "SELECT * FROM ivoa.obscore WHERE t_min > 52000 AND t_max < 52100 AND t_exptime > 3600 AND o_ucd LIKE '%phot.flux%'",
  "SELECT DISTINCT obs_collection, facility_name, instrument_name FROM ivoa.obscore WHERE target_name = 'M81'",
  'SELECT obs_collection, COUNT(*) AS n, MIN(t_min), MAX(t_max) FROM ivoa.obscore GROUP BY obs_collection HAVING COUNT(*) > 10 ORDER BY n DESC',
  "SELECT * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 0.1)) AND (dataproduct_type = 'cube' OR dataproduct_type = 'image') AND pol_states LIKE '%Q%'",
  // pyvo / astroquery / TOPCAT documentation
  'SELECT TOP 5 * FROM ivoa.obscore',
  "SELECT ra, dec, phot_g_mean_mag FROM gaiadr3.gaia_source WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 266.41683, -29.00781, 0.08333333))",
  'SELECT TOP 10 source_id, ra, dec, parallax FROM gaiadr3.gaia_source ORDER BY parallax DESC',
  "SELECT g.source_id, t.main_id FROM gaiadr3.gaia_source AS g JOIN tap_upload.targets AS t ON 1 = CONTAINS(POINT('ICRS', g.ra, g.dec), CIRCLE('ICRS', t.ra, t.dec, 1.0 / 3600))",
  'SELECT COUNT(*) FROM (SELECT DISTINCT instrument_name FROM ivoa.obscore) AS x',
  'SELECT * FROM ivoa.obscore WHERE obs_id IN (SELECT obs_id FROM ivoa.obscore WHERE s_fov > 1) AND EXISTS (SELECT 1 FROM other AS o WHERE o.id = obs_id)',
  'SELECT * FROM ivoa.obscore WHERE s_ra BETWEEN 359 AND 360 OR s_ra BETWEEN 0 AND 1',
  'SELECT "Quoted Col", t."Other" FROM "MySchema"."MyTable" AS t',
  'SELECT a FROM t1 NATURAL LEFT OUTER JOIN t2 RIGHT JOIN t3 USING (k)',
  'SELECT a FROM x INTERSECT (SELECT a FROM y EXCEPT SELECT a FROM z) ORDER BY 1',
  'SELECT -a, - -1, +2, NOT a IS NULL FROM t WHERE NOT (a = 1 OR b = 2)',
  'SELECT ROUND(mag, 2), TRUNCATE(ra, 3), MOD(id, 10), ATAN2(y, x), SQRT(POWER(x, 2) + POWER(y, 2)) FROM t',
];

describe('the corpus round-trips (parse → print → parse)', () => {
  for (const q of CORPUS)
    test(q.length > 70 ? `${q.slice(0, 70)}…` : q, () => {
      const first: AdqlQuery = parseAdql(q);
      const printed = printAdql(first);
      const second = parseAdql(printed);
      assert.deepEqual(strip(second), strip(first), printed);
      // Printing is stable: the printed text prints to itself.
      assert.equal(printAdql(second), printed);
    });
});
