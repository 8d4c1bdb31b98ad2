import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The server serves dist/index.html at / and dist/assets/ under /console/assets/ (src/http/console.ts).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [preact()],
  resolve: {
    // The typed documents, as any client imports them.
    alias: { 'podgraph/client': fileURLToPath(new URL('../client/index.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything the page needs comes from the server: no inlined data: fonts or scripts.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
