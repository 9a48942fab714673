import type { DashboardApiChoice } from './signoz-version.ts';

/** A dashboard SigNoz already holds, matched to a definition by its title. */
export interface ExistingDashboard {
  id: string;
  /** The title (v1 `data.title`, v2 `spec.display.name`). */
  name: string;
  /** v2 only: the immutable DNS-label `name` a `PUT /api/v2/dashboards/{id}` must repeat. */
  slug?: string | undefined;
  /** v2 only: still stored in the v1 schema (its migration failed); it must be migrated before a `PUT`. */
  legacy?: boolean | undefined;
}

/**
 * Creates, lists and updates dashboards through the API a given SigNoz speaks (signoz-version.ts). The
 * body is always the dashboard file's v1 JSON; the v2 implementation has SigNoz convert it.
 */
export interface DashboardApi {
  readonly choice: DashboardApiChoice;
  list(): Promise<ExistingDashboard[]>;
  create(body: Record<string, unknown>): Promise<{ id: string | undefined }>;
  update(existing: ExistingDashboard, body: Record<string, unknown>): Promise<void>;
}
