// Builds the web interface (this folder) into dist/webapp, which `fitslake serve` serves at /
// (src/services/web/routes.ts). `npm run build:web` runs it.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/webapp', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The server's Content-Security-Policy allows no inline script: keep everything in files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
