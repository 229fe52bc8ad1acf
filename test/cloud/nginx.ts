// Debian's nginx on loopback, serving a folder with Range support, logging every request so tests
// can count requests and bytes on the server side.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Nginx {
  url: string;
  /** Log position now: pass it to since() to count what followed. */
  mark(): number;
  /** Requests and body bytes served after `mark` (optionally for paths starting with `prefix`). */
  since(mark: number, prefix?: string): Promise<{ requests: number; bytes: number; ranges: string[] }>;
  stop(): void;
}

export async function startNginx(root: string): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-cloud-nginx-'));
  const log = join(dir, 'access.log');
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http { log_format counted '$request_uri $status $body_bytes_sent "$http_range"';
  access_log ${log} counted; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir}; keepalive_requests 100000;
  server { listen 127.0.0.1:${port}; root ${root}; } }`,
    );
    writeFileSync(log, '');
    const proc = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 50 && !up && proc.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      up = await fetch(`${url}/`, { method: 'HEAD' }).then(
        () => true,
        () => false,
      );
    }
    if (!up) {
      proc.kill();
      if (attempt < 5) continue;
      throw new Error(
        `nginx did not start: ${existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, 'utf8') : ''}`,
      );
    }
    const lines = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    return {
      url,
      mark: () => lines().length,
      async since(mark, prefix = '/') {
        // nginx logs a request after sending it: give the last line a moment to land.
        await new Promise((r) => setTimeout(r, 60));
        const got = lines()
          .slice(mark)
          .map((l) => /^(\S+) (\d+) (\d+) "(.*)"$/.exec(l))
          .filter((m): m is RegExpExecArray => m?.[1].startsWith(prefix) === true);
        return {
          requests: got.length,
          bytes: got.reduce((a, m) => a + Number(m[3]), 0),
          ranges: got.map((m) => m[4]),
        };
      },
      stop: () => {
        proc.kill();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
