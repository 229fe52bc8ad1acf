/**
 * A tokenizer for the SQL users send (SQLite and PostgreSQL spelling): enough to find every name a
 * statement uses — quoted or not, outside strings and comments — so the sandbox can refuse names
 * that reach past the caller's views. It never rewrites the text.
 */

export type SqlToken =
  | { type: 'name'; value: string; quoted: boolean; at: number }
  | { type: 'string' | 'number' | 'param'; value: string; at: number }
  | { type: 'op'; value: string; at: number };

export class SqlSyntaxError extends Error {
  override name = 'SqlSyntaxError';
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} at character ${at + 1}`);
  }
}

const NAME_START = /[A-Za-z_\u0080-\uffff]/;
const NAME_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

export function tokenize(text: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  const n = text.length;
  /** Index just past the closing `close`, where a doubled `close` stands for itself. */
  const quoted = (close: string, what: string): number => {
    let j = i + 1;
    for (;;) {
      const k = text.indexOf(close, j);
      if (k < 0) throw new SqlSyntaxError(`unterminated ${what}`, i);
      if (close !== ']' && text[k + 1] === close) {
        j = k + 2;
        continue;
      }
      return k + 1;
    }
  };
  while (i < n) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      const k = text.indexOf('\n', i);
      i = k < 0 ? n : k + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const k = text.indexOf('*/', i + 2);
      if (k < 0) throw new SqlSyntaxError('unterminated comment', i);
      i = k + 2;
    } else if (c === "'" || ((c === 'x' || c === 'X' || c === 'e' || c === 'E') && text[i + 1] === "'")) {
      if (c !== "'") i++;
      // PostgreSQL E'…' strings may escape a quote with a backslash.
      let end: number;
      if (c === 'e' || c === 'E') {
        let j = i + 1;
        while (j < n && !(text[j] === "'" && text[j + 1] !== "'"))
          j += text[j] === '\\' || text[j] === "'" ? 2 : 1;
        if (j >= n) throw new SqlSyntaxError('unterminated string', i);
        end = j + 1;
      } else end = quoted("'", 'string');
      out.push({ type: 'string', value: text.slice(i, end), at: i });
      i = end;
    } else if (c === '$' && /[A-Za-z_$]/.test(text[i + 1] ?? '')) {
      // PostgreSQL dollar quoting: $tag$ … $tag$.
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (!m) throw new SqlSyntaxError('unexpected $', i);
      const k = text.indexOf(m[0], i + m[0].length);
      if (k < 0) throw new SqlSyntaxError('unterminated dollar-quoted string', i);
      out.push({ type: 'string', value: text.slice(i, k + m[0].length), at: i });
      i = k + m[0].length;
    } else if (c === '"' || c === '`' || c === '[') {
      const end = quoted(c === '[' ? ']' : c, 'quoted name');
      const close = c === '[' ? ']' : c;
      out.push({
        type: 'name',
        value: text.slice(i + 1, end - 1).replaceAll(close + close, close),
        quoted: true,
        at: i,
      });
      i = end;
    } else if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < n && NAME_PART.test(text[j])) j++;
      out.push({ type: 'name', value: text.slice(i, j), quoted: false, at: i });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(0x[0-9a-f]+|\d*\.?\d+(e[+-]?\d+)?|\d+\.(e[+-]?\d+)?)/i.exec(text.slice(i));
      const len = m ? m[0].length : 1;
      out.push({ type: 'number', value: text.slice(i, i + len), at: i });
      i += len;
    } else if (c === '?' || c === ':' || c === '@' || (c === '$' && /[0-9]/.test(text[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && NAME_PART.test(text[j])) j++;
      // `::` is a PostgreSQL cast, not a parameter.
      if (c === ':' && text[i + 1] === ':') {
        out.push({ type: 'op', value: '::', at: i });
        i += 2;
        continue;
      }
      out.push({ type: c === ':' && j === i + 1 ? 'op' : 'param', value: text.slice(i, j), at: i });
      i = j;
    } else {
      const two = text.slice(i, i + 2);
      const op = ['<=', '>=', '<>', '!=', '||', '==', '<<', '>>', '->'].includes(two) ? two : c;
      out.push({ type: 'op', value: op, at: i });
      i += op.length;
    }
  }
  return out;
}
