#!/usr/bin/env node
// The published entry point: runs the compiled CLI (built by `npm ci` through the prepare script).
// Ingest keeps many fsyncs in flight; libuv's default of 4 threads would serialise them.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
