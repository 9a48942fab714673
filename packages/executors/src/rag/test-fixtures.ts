import type { IngestDocument } from './add-documents.ts';

/** TEST FIXTURE: a tiny handbook whose documents share few words, so relevant chunks rank first. */
export const HANDBOOK: IngestDocument[] = [
  {
    source: 'billing.md',
    title: 'Billing',
    metadata: { dept: 'billing', lang: 'en' },
    content:
      'Invoices are sent on the first business day of each month. A late invoice incurs a two percent fee. ' +
      'Customers can download every invoice as a PDF from the billing portal.',
  },
  {
    source: 'api.md',
    title: 'API limits',
    metadata: { dept: 'engineering', lang: 'en' },
    content:
      'The public API allows 100 requests per minute per API key. Requests above the rate limit receive ' +
      'HTTP 429 with a Retry-After header. Batch endpoints count as one request.',
  },
  {
    source: 'leave.md',
    title: 'Leave policy',
    metadata: { dept: 'hr', lang: 'en' },
    content:
      'Employees accrue two vacation days per month. Unused vacation days carry over to the next year, ' +
      'up to ten days. Sick leave does not require a doctor note for the first three days.',
  },
  {
    source: 'billing-de.md',
    title: 'Abrechnung',
    metadata: { dept: 'billing', lang: 'de' },
    content: 'Rechnungen werden am ersten Werktag jedes Monats versendet (invoices sent monthly).',
  },
];
