/** Where commands write: injectable so tests can run commands in-process and read what they print. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Binary output (query --format parquet). */
  bytes?(data: Uint8Array): void;
}

export const processOutput: Output = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  bytes: (b) => process.stdout.write(b),
};
