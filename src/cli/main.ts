import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/config.ts';
import { initLake } from '../config/init.ts';
import { headerCommand } from './commands/header.ts';
import { infoCommand } from './commands/info.ts';
import { type Output, processOutput } from './output.ts';

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
    .action(async (files: string[], opts) => setExit(await headerCommand(files, opts, io)));

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
    .action(async (files: string[], opts) => setExit(await infoCommand(files, opts, io)));

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
