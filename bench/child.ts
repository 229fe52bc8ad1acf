import type { ChildProcess } from 'node:child_process';

/** Resolves with the first match of `pattern` in a child's stdout (a server printing its URL). */
export function waitForUrl(
  child: ChildProcess,
  pattern: RegExp,
  what: string,
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => rej(new Error(`${what}: no URL after ${timeoutMs / 1000} s\n${out}${err}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${what} exited (${code}) before serving\n${out}${err}`));
    });
  });
}
