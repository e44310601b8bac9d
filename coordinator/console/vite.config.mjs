// Builds the console into coordinator/console/dist, which the coordinator serves at `/`.
// `vite coordinator/console` (dev) proxies /api to a coordinator on COORDINATOR_URL (default :8080).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
  server: { proxy: { '/api': { target: process.env.COORDINATOR_URL ?? 'http://127.0.0.1:8080', changeOrigin: true } } },
});
