import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';

describe('embedded Postgres (PGlite over the wire protocol)', () => {
  let pg: EmbeddedPostgres;
  const clients: postgres.Sql[] = [];
  const client = () => {
    const sql = postgres(pg.url, { prepare: false, max: 4, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };

  beforeAll(async () => {
    pg = await startEmbeddedPostgres({});
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    await pg?.stop();
  });

  it('keeps parameterised queries of many connections apart', async () => {
    const a = client();
    const b = client();
    const results = await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) => (i % 2 === 0 ? a : b)`select ${i}::int as n, ${`text-${i}`}::text as t`,
      ),
    );
    for (const [i, rows] of results.entries()) expect(rows[0]).toEqual({ n: i, t: `text-${i}` });
  });

  it('gives an open transaction the backend to itself', async () => {
    const a = client();
    const b = client();
    await a`create table if not exists counter (id int primary key, n int)`;
    await a`insert into counter values (1, 0) on conflict (id) do update set n = 0`;
    // 20 concurrent read-modify-write transactions from two pools: serialized, none lost.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).begin(async (tx) => {
          const [row] = await tx`select n from counter where id = 1`;
          await new Promise((resolve) => setTimeout(resolve, 2));
          await tx`update counter set n = ${(row?.n as number) + 1} where id = 1`;
        }),
      ),
    );
    const [row] = await b`select n from counter where id = 1`;
    expect(row?.n).toBe(20);
  });

  it('rolls back a failed transaction and serves pgvector', async () => {
    const a = client();
    await expect(
      a.begin(async (tx) => {
        await tx`insert into counter values (2, 1)`;
        await tx`select 1/0`;
      }),
    ).rejects.toThrow(/division by zero/);
    expect(await a`select * from counter where id = 2`).toHaveLength(0);
    await a`create extension if not exists vector`;
    const [row] = await a`select ('[1,0]'::vector <=> '[0,1]'::vector)::float8 as d`;
    expect(row?.d).toBeCloseTo(1);
  });
});
