import type { ByteSource } from '../fits/byte-source.ts';
import { openSource } from '../io/open.ts';
import { errorJson, stringify } from './json.ts';
import type { Output } from './output.ts';

/**
 * Runs a command on each file in turn: a file that cannot be read reports its error (as JSON in
 * --json mode) and the others still run; the exit code is 1 if any failed.
 */
export async function eachFile(
  files: string[],
  json: boolean | undefined,
  io: Output,
  run: (file: string, source: ByteSource) => Promise<void>,
): Promise<number> {
  let failed = 0;
  for (const file of files) {
    try {
      const source = await openSource(file);
      try {
        await run(file, source);
      } finally {
        await source.close?.();
      }
    } catch (err) {
      failed++;
      if (json) io.out(stringify(errorJson(file, err)));
      else io.err(`${file}: ${(err as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}
