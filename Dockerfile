# syntax=docker/dockerfile:1
# One image for every process of the fleet; the command picks the process:
#   node apps/api/src/main.ts                     the HTTP API (default)
#   node apps/worker/src/main.ts --kinds <type>   a worker of one node type (llm, agent, connector, rag)
#   node apps/cli/src/migrate.ts                  database migrations (one-shot)
#   node apps/cli/src/apikey.ts --tenant <name>   create an API key
# TypeScript runs as-is through Node's type stripping: there is no build step. The minor version
# matches the `node` devDependency that development and CI run on.

# The run viewer (packages/ui) is a static bundle: Vite builds it in this stage (with @flowtrace/client,
# which it bundles) and only its output is copied into the image below, so the build tools never ship.
# Its tsconfig extends the base one.
FROM node:24.21-bookworm-slim AS ui
WORKDIR /build
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/client/package.json packages/client/
COPY packages/ui/package.json packages/ui/
RUN npm ci --workspace @flowtrace/ui --include-workspace-root=false --ignore-scripts --no-audit --no-fund
COPY packages/client ./packages/client
COPY packages/ui ./packages/ui
RUN npm run build -w @flowtrace/ui

FROM node:24.21-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# Manifests first, so that the dependency layer is rebuilt only when they change. npm ci links only
# the workspaces whose package.json is present: every one under apps/ and packages/ is listed here
# (test/deployment/deployment-files.test.ts checks the list).
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/cli/package.json apps/cli/
COPY apps/worker/package.json apps/worker/
COPY packages/api/package.json packages/api/
COPY packages/client/package.json packages/client/
COPY packages/db/package.json packages/db/
COPY packages/engine/package.json packages/engine/
COPY packages/executors/package.json packages/executors/
COPY packages/local-stack/package.json packages/local-stack/
COPY packages/signoz/package.json packages/signoz/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/ui/package.json packages/ui/
COPY packages/workflow/package.json packages/workflow/

# --omit=dev leaves out what only development needs: vitest, biome, typescript, drizzle-kit (migrations
# are applied by drizzle-orm's migrator) and the `node` package, which downloads a pinned Node for
# machines with an older one (here the base image is that Node). --ignore-scripts: no runtime
# dependency needs its install script (msgpackr-extract, used by BullMQ, falls back to JavaScript).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# Sources, and the migrations that `migrate.ts` applies (packages/db finds them beside the workspace root's
# package.json: /app/drizzle).
COPY drizzle ./drizzle
COPY packages ./packages
COPY apps ./apps
# The built run viewer, served by the API under /ui.
COPY --from=ui /build/packages/ui/dist ./packages/ui/dist

# The image's unprivileged user; nothing under /app needs to be writable.
USER node
EXPOSE 3000
CMD ["node", "apps/api/src/main.ts"]
