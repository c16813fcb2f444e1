/**
 * Vite build of the web console: `npm run build:web` writes `web/dist`, which `rostersync serve`
 * serves at `/` (src/http/console.ts). No CDN, no network fonts: everything the console loads is
 * in this build. `npm run dev:web` serves it with hot reload and forwards `/api` to a running
 * `rostersync serve` (ROSTERSYNC_URL, default http://127.0.0.1:8080).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  plugins: [react()],
  // Served at the origin's root by `rostersync serve`.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline `data:` scripts or styles: the server's Content-Security-Policy allows 'self' only.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: process.env.ROSTERSYNC_URL ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
