import { BenchStack } from './lib/bench-stack.ts';
import { ReceiverClient } from './lib/receiver-client.ts';
import { chain, fanOutIn, oneNode } from './lib/workflows.ts';

const receiver = await ReceiverClient.start();
const t0 = Date.now();
const s = await BenchStack.start({ name: 'scratch', traced: true, receiver, logsDir: '/tmp/ftb', llmWorkers: 1 });
console.log('up', Date.now() - t0);
for (const wf of [oneNode(), chain(10), fanOutIn(8)]) {
  const d = await s.drain(wf, 30);
  console.log(wf.name, d.nodes, d.nodesPerSecond.toFixed(0), JSON.stringify(d.cpuMsPerNode), d.machineUtilisation.toFixed(2));
  await receiver.waitQuiet(1000, 10000);
  console.log(await receiver.spanNames());
  const a = await receiver.analyze(d.submitted);
  const { hops, ...rest } = a;
  console.log(JSON.stringify(rest));
  console.log(hops.slice(0, 5));
}
await new Promise((r) => setTimeout(r, 2500));
console.log(await receiver.sdkSpans());
await s.stop();
await receiver.close();
