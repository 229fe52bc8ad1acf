// Entry point for running the CLI from source (development, tests): node --import tsx src/cli/run.ts …
// Ingest keeps many fsyncs in flight; libuv's default of 4 threads would serialise them.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('./main.ts');

process.exitCode = await main(process.argv.slice(2));
