import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoCrmServer {
  readonly url: string;
  /** `traceparent` headers received, to show that the trace crossed into this service. */
  readonly traceparents: string[];
  close(): Promise<void>;
}

const CUSTOMERS: Record<string, object> = {
  'c-1042': { id: 'c-1042', name: 'Ada Lovelace', plan: 'business', region: 'eu-west', since: '2021-03-04' },
};
const ORDERS: Record<string, object> = {
  'o-77': {
    id: 'o-77',
    status: 'delayed',
    carrier: 'DHL',
    promisedBy: '2026-11-20',
    lastScan: 'Leipzig hub',
  },
};

function reply(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * A small stand-in for a CRM that the demo workflow's connector and agent call over real HTTP on loopback.
 * It records the `traceparent` each request carries.
 */
export async function startDemoCrmServer(): Promise<DemoCrmServer> {
  const traceparents: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const traceparent = req.headers.traceparent;
    if (typeof traceparent === 'string') traceparents.push(traceparent);
    const [, collection, id] = (req.url ?? '').split('?')[0]?.split('/') ?? [];
    const table = collection === 'customers' ? CUSTOMERS : collection === 'orders' ? ORDERS : undefined;
    const record = table && id ? table[id] : undefined;
    if (record) reply(res, 200, record);
    else reply(res, 404, { error: `no ${collection ?? 'resource'} ${id ?? ''}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    traceparents,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
