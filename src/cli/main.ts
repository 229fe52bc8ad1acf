import { Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../config/config.ts';
import { initLake } from '../config/init.ts';
import { type Output, processOutput } from './output.ts';

// Each command's module is loaded when it runs: a command pays only for what it uses (the server
// and its protocols, sharp, the S3 client…), not for every other command's start-up.

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(io: Output, setExit: (code: number) => void): Command {
  const program = new Command('fitslake')
    .description('A data lake for FITS astronomy files')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  program
    .command('header')
    .description('print every header of FITS files or URLs (like astropy fitsheader)')
    .argument('<files...>', 'local paths or http(s) URLs (.gz/.bz2 read as streams)')
    .option('--hdu <N|EXTNAME>', 'only this HDU (repeatable)', collect)
    .option('-k, --keyword <K>', 'only keywords matching K (wildcards * ?; repeatable)', collect)
    .option('--json', 'one JSON object per file (JSON Lines), the documented machine interface')
    .option('--strict', 'reject any violation of the FITS standard instead of warning')
    .action(async (files: string[], opts) =>
      setExit(await (await import('./commands/header.ts')).headerCommand(files, opts, io)),
    );

  program
    .command('info')
    .description('list HDUs with kind, shape, offsets, checksum status and WCS footprint')
    .argument('<files...>', 'local paths or http(s) URLs')
    .option('--json', 'one JSON object per file (JSON Lines)')
    .option(
      '--checksum',
      'verify CHECKSUM/DATASUM (reads all data; the default for local files, not for URLs)',
    )
    .option('--no-checksum', 'skip CHECKSUM/DATASUM verification (reads headers only)')
    .option('--strict', 'reject any violation of the FITS standard instead of warning')
    .action(async (files: string[], opts) =>
      setExit(await (await import('./commands/info.ts')).infoCommand(files, opts, io)),
    );

  program
    .command('index')
    .description(
      'index FITS files where they lie (folder, s3://bucket/prefix, or a file of URLs) for range reads',
    )
    .argument('<source>', 'a folder, s3://bucket/prefix, or a text file with one http(s) URL per line')
    .requiredOption('-o, --out <target>', 'the index: a .json or .parquet path, or s3://bucket/key')
    .option(
      '--data-url-prefix <url>',
      'clients fetch PREFIX + the indexed path (default: where it was indexed)',
    )
    .option('--format <format>', 'json | parquet (default: from the --out extension)')
    .option('--include <regex>', 'file names to index (default: .fits .fit .fts .fz, also .gz/.bz2)')
    .option('--endpoint <url>', 'S3 endpoint (default: AWS, or $AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (default: $AWS_REGION or us-east-1)')
    .option('--sign-request', 'S3: always sign requests (credentials from the usual AWS chain)')
    .option('--no-sign-request', 'S3 anonymous access (the default when no credentials are configured)')
    .option('--request-payer', 'S3 requester-pays bucket: the requester pays for the reads')
    .option('--concurrency <n>', 'files read at once', '8')
    .option(
      '--gzip-checkpoints',
      'decompression checkpoints for every whole-file .gz (default: local files, remote ones ≤ 2 GiB)',
    )
    .option('--no-gzip-checkpoints', 'no gzip checkpoints (.gz files then cannot be read by range)')
    .option('--checkpoint-span <bytes>', 'uncompressed bytes between gzip checkpoints (default 1048576)')
    .option('--json', 'print the summary as one JSON object')
    .action(async (source: string, opts) =>
      setExit(await (await import('./commands/index-cmd.ts')).indexCommand(source, opts, io)),
    );

  program
    .command('init')
    .description('create a lake folder with a commented config of the embedded defaults')
    .argument('[dir]', 'the lake folder', '.')
    .option('--force', 'overwrite an existing fitslake.yaml')
    .action((dir: string, opts: { force?: boolean }) => {
      const file = initLake(dir, opts);
      // Prove the written file loads before telling the user it is ready.
      loadConfig(dir);
      io.out(`wrote ${file}; data goes to ${dir}/data, the catalog to ${dir}/catalog.sqlite`);
      setExit(0);
    });

  const LAKE = ['--lake <dir>', 'the lake folder (default: $FITSLAKE_LAKE or the current folder)'] as const;

  program
    .command('ingest')
    .description('copy files into the lake and catalogue them (waits until every file is ingested or failed)')
    .argument(
      '<sources...>',
      'files, folders, http(s) URLs or s3://bucket/prefix (with --s3-event: event JSON files, - for stdin)',
    )
    .option(...LAKE)
    .option('-c, --collection <name>', 'collection (default: ingest.defaultCollection)')
    .option('-r, --recursive', 'include subfolders')
    .option('--no-wait', 'return once the files are copied and queued')
    .option('--watch', 'keep watching the folders / re-listing the buckets for new files')
    .option('--s3-event', 'the sources are S3 event notifications (ObjectCreated records)')
    .option('--endpoint <url>', 'S3 endpoint of the source bucket (default: storage.s3.endpoint)')
    .option('--no-progress', 'no progress bar')
    .action(async (sources: string[], opts) =>
      setExit(await (await import('./commands/ingest.ts')).ingestCommand(sources, opts, io)),
    );

  program
    .command('query')
    .description(
      'run read-only SQL over the catalog (tables observations, files, hdus, …; views hdr_<collection>)',
    )
    .argument('<sql>', 'one SELECT statement')
    .option(...LAKE)
    .option(
      '-f, --format <format>',
      'table | csv | json (one array of row objects) | votable | parquet',
      'table',
    )
    .option('--timeout <seconds>', 'stop the query after this long', '30')
    .option('--max-rows <n>', 'return at most this many rows', '100000')
    .option(
      '--server <url>',
      'ask a fitslake server instead (or FITSLAKE_SERVER); it applies its access rules',
    )
    .option('--token <token>', 'API token for --server (or FITSLAKE_TOKEN)')
    .action(async (text: string, opts) =>
      setExit(await (await import('./commands/lake.ts')).queryCommand(text, opts, io)),
    );

  program
    .command('ls')
    .description("list a zone's objects (folders first)")
    .argument('[prefix]', 'key prefix, e.g. demo/ or demo/kb001ms/')
    .option(...LAKE)
    .option('--zone <zone>', 'raw | derived | previews | indexes | recycle', 'raw')
    .option('-r, --recursive', 'every key below the prefix, not only the next level')
    .option('--json', 'one JSON object per line')
    .action(async (prefix: string | undefined, opts) =>
      setExit(await (await import('./commands/lake.ts')).lsCommand(prefix, opts, io)),
    );

  program
    .command('get')
    .description('download an object')
    .argument('<key>', 'object key')
    .option(...LAKE)
    .option('--zone <zone>', 'raw | derived | previews | indexes | recycle', 'raw')
    .option('-o, --output <file>', 'write here (default stdout)')
    .action(async (key: string, opts) =>
      setExit(await (await import('./commands/lake.ts')).getCommand(key, opts)),
    );

  program
    .command('rm')
    .description('remove objects (moved to the recycle zone; their catalog entries marked deleted)')
    .argument('<keys...>', 'object keys in the raw zone')
    .option(...LAKE)
    .action(async (keys: string[], opts) =>
      setExit(await (await import('./commands/lake.ts')).rmCommand(keys, opts, io)),
    );

  program
    .command('status')
    .description('counts of files, observations and jobs; recent failures')
    .option(...LAKE)
    .option('--json', 'one JSON document')
    .option('--repair', 'reconcile catalog and storage first (queue what is missing, drop what is gone)')
    .action(async (opts) => setExit(await (await import('./commands/lake.ts')).statusCommand(opts, io)));

  program
    .command('worker')
    .description('run ingest, preview and crawl jobs (any number of workers may share one catalog)')
    .option(...LAKE)
    .option('--concurrency <n>', 'jobs at once (default: workers.concurrency)')
    .option('--until-idle', 'exit when no job is left')
    .option('--no-reconcile', 'skip the start-up check that queues stored objects missing from the catalog')
    .addOption(new Option('--parent-pid <pid>', 'stop when this process (the parent) is gone').hideHelp())
    .action(async (opts) => setExit(await (await import('./commands/lake.ts')).workerCommand(opts, io)));

  program
    .command('reindex')
    .description('re-extract stored objects (after an upgrade or a configuration change)')
    .option(...LAKE)
    .option('--prefix <prefix>', 'only keys under this prefix')
    .option('--no-wait', 'return once queued')
    .action(async (opts) => setExit(await (await import('./commands/lake.ts')).reindexCommand(opts, io)));

  program
    .command('mount')
    .description(
      'mount a cloud index (fitslake index) as a read-only collection: its files stay at their data URLs',
    )
    .argument('<index>', 'the index: an http(s) URL, or a local path whose data URLs are absolute')
    .requiredOption('-c, --collection <name>', 'the collection its files form')
    .option('--no-wait', 'return once catalogued (previews and the keyword view are left to workers)')
    .option('--json', 'the outcome as JSON')
    .option(...LAKE)
    .action(async (index: string, opts) =>
      setExit(await (await import('./commands/mount.ts')).mountCommand(index, opts, io)),
    );

  program
    .command('optimize')
    .description('write range-readable tile-compressed copies of whole-file .gz/.bz2 FITS (derived zone)')
    .option(...LAKE)
    .option('--prefix <prefix>', 'only raw keys under this prefix')
    .option('-c, --collection <name>', 'only this collection')
    .option('--floats <how>', 'float images: gzip (GZIP_2 tiles, default) | none (plain image HDUs)')
    .option('--force', 're-create copies that are up to date')
    .option('--json', 'one JSON object per file')
    .action(async (opts) =>
      setExit(await (await import('./commands/optimize.ts')).optimizeCommand(opts, io)),
    );

  program
    .command('cutout')
    .description(
      'cut a box out of an image or cube into a FITS file with its WCS shifted (reads only the box)',
    )
    .argument(
      '<input>',
      'a FITS file, an http(s) URL, or a lake ID (raw key collection/path, or ivo://fitslake/…)',
    )
    .option('--hdu <N|EXTNAME>', 'the image HDU (default: the first with data)')
    .option('--ra <deg>', 'centre of a sky circle, ICRS degrees')
    .option('--dec <deg>', 'centre of a sky circle, ICRS degrees')
    .option('--radius <angle>', 'radius of the circle: degrees, or e.g. 30arcsec, 2arcmin')
    .option(
      '--pixels <ranges>',
      '"x1:x2,y1:y2[,z1:z2]": 1-based, inclusive, FITS axis order (* keeps an axis)',
    )
    .requiredOption('-o, --output <file>', 'the cutout FITS file (- for stdout)')
    .option(...LAKE)
    .action(async (input: string, opts) =>
      setExit(await (await import('./commands/cutout.ts')).cutoutCommand(input, opts, io)),
    );

  program
    .command('lightcurve')
    .description('print one pixel of a cube through every frame: frame, time (when the WCS has one), value')
    .argument('<input>', 'a FITS file, an http(s) URL, or a lake ID')
    .option('--hdu <N|EXTNAME>', 'the cube HDU (default: the first image with data)')
    .requiredOption('--x <X>', 'pixel column, 1-based (axis 1)')
    .requiredOption('--y <Y>', 'pixel row, 1-based (axis 2)')
    .option('--format <format>', 'tsv | csv | json', 'tsv')
    .option(...LAKE)
    .action(async (input: string, opts) =>
      setExit(await (await import('./commands/cutout.ts')).lightcurveCommand(input, opts, io)),
    );

  program
    .command('collection')
    .description('create, change or show a collection and its settings')
    .argument('<action>', 'create | set | show')
    .argument('<name>', 'collection name')
    .option(...LAKE)
    .option('--calib-level <n>', 'ObsCore calib_level of its observations')
    .option('--proprietary-days <d>', 'days after the observation before it is public')
    .option('--dataproduct-type <t>', 'ObsCore dataproduct_type (image, cube, spectrum…)')
    .option('--visibility <v>', 'public | private | shared')
    .option(
      '--grouping <regex>',
      'regular expression over file names whose (?<base>…) group names the observation',
    )
    .option('--path-template <t>', 'key template below the collection, e.g. {instrument}/{night}/{file}')
    .option(
      '--map <column=KEYWORDS>',
      'observation column from keywords tried in order (repeatable)',
      collect,
    )
    .option('--related <KEYWORD=relation>', 'link to the observation a keyword names (repeatable)', collect)
    .action(async (action: string, name: string, opts) =>
      setExit(await (await import('./commands/lake.ts')).collectionCommand(action, name, opts, io)),
    );

  program
    .command('serve')
    .description('serve the lake over HTTP (REST, SQL, live events), with an in-process worker')
    .option(...LAKE)
    .option('--host <host>', 'interface to bind (default: server.host, 127.0.0.1)')
    .option('--port <port>', 'port (default: server.port, 8080; 0 picks a free one)')
    .option('--no-worker', 'do not run ingest jobs in this process')
    .option('--quiet', 'no request log')
    .action(async (opts) => setExit(await (await import('./commands/serve.ts')).serveCommand(opts, io)));

  program
    .command('user')
    .description('manage accounts: add (or change) a user with roles and groups, list, rm')
    .argument('<action>', 'add | list | rm')
    .argument('[name]', 'user name')
    .option(...LAKE)
    .option('--role <role>', 'reader | uploader | curator | admin (repeatable)', collect)
    .option('--group <group>', 'a group the user belongs to (repeatable)', collect)
    .option('--json', 'JSON output')
    .action(async (action: string, name: string | undefined, opts) =>
      setExit(await (await import('./commands/accounts.ts')).userCommand(action, name, opts, io)),
    );

  program
    .command('token')
    .description('API tokens: create USER (printed once), list [USER], revoke ID|PREFIX')
    .argument('<action>', 'create | list | revoke')
    .argument('[arg]', 'user (create, list) or token id/prefix (revoke)')
    .option(...LAKE)
    .option('--label <text>', 'what the token is for')
    .option('--days <n>', 'expire after n days')
    .option('--json', 'JSON output')
    .action(async (action: string, arg: string | undefined, opts) =>
      setExit(await (await import('./commands/accounts.ts')).tokenCommand(action, arg, opts, io)),
    );

  program
    .command('demo')
    .description('create a lake with a generated night of observations, ingest it, summarise it and serve it')
    .argument('[dir]', 'the lake folder', 'fitslake-demo')
    .option('--exposures <n>', 'science exposures per instrument', '12')
    .option('--size <pixels>', 'frame size', '256')
    .option('--no-serve', 'stop after the summary instead of serving the lake')
    .option('--port <port>', 'port to serve on (default: server.port, 8080)')
    .option('--host <host>', 'interface to serve on (default 127.0.0.1)')
    .action(async (dir: string, opts) =>
      setExit(await (await import('./commands/demo.ts')).demoCommand(dir, opts, io)),
    );

  return program;
}

/** Runs the CLI and returns the process exit code (never calls process.exit: tests call it in-process). */
export async function main(argv: string[], io: Output = processOutput): Promise<number> {
  if (io === processOutput) {
    // `fitslake header … | head` closes the pipe early: that is not an error, just stop.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`fitslake: ${(err as Error).message}`);
    return 1;
  }
  return code;
}
