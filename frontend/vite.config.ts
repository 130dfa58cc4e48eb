/**
 * Vite build of the demo app. Django serves the output: `dist/` is a static
 * files directory mounted at `/static/frontend/` (whitenoise), and
 * `dist/index.html` is what Django returns for `/` and the app's routes.
 */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/static/frontend/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    // `npm run dev` next to `make run`: proxy the API and the WebSocket to daphne.
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
