/** A pgvector literal (`[1,2,3]`), refusing values Postgres would not store. */
export function vectorLiteral(vector: readonly number[]): string {
  for (const v of vector) {
    if (!Number.isFinite(v)) throw new Error('embedding contains a non-finite value');
  }
  return `[${vector.join(',')}]`;
}
