// vite.config.ts — dev server and production build of the dashboard. In development /graphql
// (HTTP and the graphql-transport-ws WebSocket) and /auth are proxied to graphql-api so the
// session cookie is same-origin, exactly as when graphql-api serves web/dist itself.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

const api = `http://127.0.0.1:${process.env.GRAPHQL_PORT || 3002}`;

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: false },
      '/auth': { target: api, changeOrigin: false },
    },
  },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 1200 },
  test: { environment: 'node', include: ['src/**/*.test.ts', 'src/**/*.test.tsx'] },
});
