import { StorageError } from './errors.ts';

const MAX_KEY_BYTES = 1024; // S3's limit, so a key valid here is valid in every backend

/**
 * Validates an object key and returns its canonical form (Unicode NFC). Rejected: empty keys,
 * absolute paths, `.` and `..` segments, empty segments, backslashes, NUL and other control
 * characters, and keys over 1024 UTF-8 bytes — anything that could escape a folder or name two
 * different files the same way.
 */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new StorageError('invalid-key', 'key is empty', String(key));
  const k = key.normalize('NFC');
  if (/[\u0000-\u001f\u007f]/.test(k))
    throw new StorageError('invalid-key', 'key contains NUL or control characters', key);
  if (k.includes('\\')) throw new StorageError('invalid-key', 'key contains a backslash', key);
  if (k.startsWith('/')) throw new StorageError('invalid-key', 'key is an absolute path', key);
  const segments = k.split('/');
  for (const [i, s] of segments.entries()) {
    if (s === '.' || s === '..') throw new StorageError('invalid-key', `key has a "${s}" segment`, key);
    if (s === '' && i < segments.length - 1)
      throw new StorageError('invalid-key', 'key has an empty segment (//)', key);
  }
  if (k.endsWith('/'))
    throw new StorageError('invalid-key', 'key ends with "/" (that is a prefix, not an object)', key);
  if (new TextEncoder().encode(k).length > MAX_KEY_BYTES) {
    throw new StorageError('invalid-key', `key is longer than ${MAX_KEY_BYTES} bytes`, key);
  }
  return k;
}

/** A prefix is validated like a key but may be empty or end with "/". */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return '';
  const trailing = prefix.endsWith('/');
  const body = trailing ? prefix.slice(0, -1) : prefix;
  return validateKey(body) + (trailing ? '/' : '');
}
