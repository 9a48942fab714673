/** One dispatched Server-Sent Events message. */
export interface SseMessage {
  /** The last `id:` seen on the stream (it persists across messages, as in the HTML spec). */
  id: string | null;
  event: string;
  data: string;
}

/**
 * An incremental `text/event-stream` parser following the HTML standard's interpretation rules: lines end
 * in CRLF, LF or CR; `:` lines are comments (heartbeats); `data` lines join with LF; a blank line
 * dispatches; a message without data is not dispatched. Feed it decoded text as it arrives.
 */
export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #lastId: string | null = null;
  #pendingCr = false;

  /** The id to resume from (`Last-Event-ID`). */
  get lastEventId(): string | null {
    return this.#lastId;
  }

  feed(chunk: string): SseMessage[] {
    const messages: SseMessage[] = [];
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.#pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.#pendingCr = false;
    this.#buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (!match) break;
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) this.#pendingCr = true;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const message = this.#line(line);
      if (message) messages.push(message);
    }
    return messages;
  }

  #line(line: string): SseMessage | null {
    if (line === '') {
      const message =
        this.#data.length > 0
          ? { id: this.#lastId, event: this.#event || 'message', data: this.#data.join('\n') }
          : null;
      this.#data = [];
      this.#event = '';
      return message;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#lastId = value;
        break;
      default:
        // `retry` and unknown fields: the viewer reconnects on its own schedule.
        break;
    }
    return null;
  }
}
