import type { EventView } from '@flowtrace/engine';

/** An event as `GET /v1/runs/:id/events` returns it; the live stream sends the same JSON as `data`. */
export function toEventItem(event: EventView) {
  return { ...event, createdAt: event.createdAt.toISOString() };
}
