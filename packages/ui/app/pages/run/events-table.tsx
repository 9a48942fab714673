import type { RunEvent } from '../../api/types.ts';
import { eventSeq } from '../../api/types.ts';
import { formatTime } from '../../lib/format.ts';

/** The run's lifecycle events in commit order, newest last, as they arrive. */
export function EventsTable({ events }: { events: RunEvent[] }) {
  if (events.length === 0) return <p class="empty">No events yet.</p>;
  return (
    <div class="events-scroll">
      <table class="table events-table">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>Time</th>
            <th>Event</th>
            <th>Node</th>
            <th class="num">Attempt</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={eventSeq(event)} data-event-type={event.type}>
              <td class="num muted">{eventSeq(event)}</td>
              <td class="mono">{formatTime(event.createdAt)}</td>
              <td>
                <span class={`event-type event-${event.type.replace('.', '-')}`}>{event.type}</span>
              </td>
              <td class="mono">{event.nodeId ?? ''}</td>
              <td class="num">{event.attempt ?? ''}</td>
              <td class="event-message">{event.message ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
