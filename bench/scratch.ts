import { createTestDatabase } from '@flowtrace/db/testing';
import { startLocalStack } from '@flowtrace/local-stack';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';

const traced = process.argv[2] !== 'off';
const t0 = Date.now();
const db = await createTestDatabase({ maxConnections: 2 });
const stack = await startLocalStack({
  dataDir: '/tmp/ft-bench-scratch',
  databaseUrl: db.url,
  workers: [{ kinds: ['llm'] }],
  env: { LOG_LEVEL: 'info', ...(traced ? {} : { OTEL_SDK_DISABLED: 'true' }) },
});
console.log('stack up in', Date.now() - t0);
const h = { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' };
const chain = Array.from({ length: 10 }, (_, i) => ({ id: `n${i}`, type: 'llm', ...(i ? { dependsOn: [`n${i - 1}`] } : {}), config: { provider: 'simulated', model: 'sim-small', prompt: 'hi {{input.x}}' } }));
const wf = await (await fetch(`${stack.apiUrl}/v1/workflows`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'chain10', nodes: chain }) })).json() as { id: string };
const redis = new Redis(stack.redisUrl);
const q = new Queue('nodes.llm', { connection: redis, prefix: stack.queuePrefix });
await q.pause();
const N = Number(process.argv[3] ?? 200);
const t1 = Date.now();
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  while (next < N) { next++; const r = await fetch(`${stack.apiUrl}/v1/runs`, { method: 'POST', headers: h, body: JSON.stringify({ workflowId: wf.id, input: { x: 1 } }) }); if (r.status !== 202) throw new Error(await r.text()); await r.arrayBuffer(); }
}));
console.log('submitted', N, 'in', Date.now() - t1, 'ms');
const sql = postgres(db.url, { max: 1 });
const t2 = Date.now();
await q.resume();
for (;;) {
  const [row] = await sql`select count(*)::int as n from runs where status in ('completed','failed')`;
  if (row!.n >= N) break;
  await new Promise((r) => setTimeout(r, 50));
}
const [w] = await sql`select extract(epoch from max(finished_at))*1000 as t, count(*)::int as n from node_runs where status='completed'`;
console.log('drained', w!.n, 'nodes in', Number(w!.t) - t2, 'ms =>', (w!.n / ((Number(w!.t) - t2) / 1000)).toFixed(0), 'nodes/s');
await sql.end();
await q.close(); redis.disconnect();
await stack.stop();
await db.drop();
