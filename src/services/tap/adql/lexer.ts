import { AdqlError } from './errors.ts';

/**
 * The ADQL lexer: text → tokens with their line and column, so every later error can name the
 * place. Keywords are not told apart here (ADQL's are case-insensitive names); the parser decides
 * by position whether a name is a keyword, which keeps non-reserved words usable as column names.
 */

export type TokenType = 'name' | 'quoted' | 'string' | 'number' | 'op' | 'end';

export interface Token {
  type: TokenType;
  /** Names as written; quoted names and strings unescaped; numbers as written. */
  value: string;
  line: number;
  column: number;
  /** Offset in the text (0-based), for slicing the original spelling. */
  offset: number;
}

const OPERATORS = ['<>', '!=', '<=', '>=', '||', '=', '<', '>', '+', '-', '*', '/', '(', ')', ',', '.', ';'];

const isNameStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isNamePart = (c: string) => isNameStart(c) || (c >= '0' && c <= '9') || c === '_';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (offset: number) => ({ line, column: offset - lineStart + 1, offset });
  const fail = (offset: number, message: string): never => {
    const p = at(offset);
    throw new AdqlError(p.line, p.column, message);
  };
  /** Advances over text[i..end), keeping line/column right across newlines inside tokens. */
  const skipTo = (end: number) => {
    for (; i < end; i++) {
      if (text[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
  };
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f') {
      skipTo(i + 1);
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      skipTo(nl < 0 ? text.length : nl);
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) fail(i, 'unterminated comment');
      skipTo(close + 2);
      continue;
    }
    const start = at(i);
    if (isNameStart(c)) {
      let j = i + 1;
      while (j < text.length && isNamePart(text[j])) j++;
      tokens.push({ type: 'name', value: text.slice(i, j), ...start });
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      // Both are closed by the same quote and escape it by doubling; a string may run over lines.
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) fail(i, c === '"' ? 'unterminated quoted identifier' : 'unterminated string');
        if (text[j] === c) {
          if (text[j + 1] === c) {
            value += c;
            j += 2;
            continue;
          }
          break;
        }
        value += text[j++];
      }
      if (c === '"' && value === '') fail(i, 'empty quoted identifier');
      tokens.push({ type: c === '"' ? 'quoted' : 'string', value, ...start });
      skipTo(j + 1);
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      let j = i;
      if (c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
        j += 2;
        while (j < text.length && isHex(text[j])) j++;
        if (j === i + 2) fail(i, 'a hexadecimal number needs digits after 0x');
      } else {
        while (j < text.length && isDigit(text[j])) j++;
        if (text[j] === '.') {
          j++;
          while (j < text.length && isDigit(text[j])) j++;
        }
        if (text[j] === 'e' || text[j] === 'E') {
          let k = j + 1;
          if (text[k] === '+' || text[k] === '-') k++;
          if (!isDigit(text[k] ?? '')) fail(j, 'an exponent needs digits');
          while (k < text.length && isDigit(text[k])) k++;
          j = k;
        }
      }
      // "12abc" is one malformed token, not a number followed by a name.
      if (j < text.length && isNamePart(text[j])) fail(i, `malformed number '${text.slice(i, j + 1)}'`);
      tokens.push({ type: 'number', value: text.slice(i, j), ...start });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) fail(i, `unexpected character '${c}'`);
    tokens.push({ type: 'op', value: op as string, ...start });
    i += (op as string).length;
  }
  tokens.push({ type: 'end', value: '', ...at(i) });
  return tokens;
}
