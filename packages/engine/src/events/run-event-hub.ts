import type { Sql } from '@flowtrace/db';
import type { Logger } from '@flowtrace/telemetry';
import type { RedisConnection } from '../queue/redis-connection.ts';
import { runEventChannel } from './run-event-channel.ts';
import { type EventView, readRunEvents } from './run-event-reader.ts';

/** Receives a run's events in `seq` order, each exactly once, starting after the position it subscribed at. */
export interface RunEventListener {
  /** Called synchronously with the events after the listener's position; must not throw. */
  onEvents(events: readonly EventView[]): void;
}

export interface RunEventSubscription {
  close(): void;
}

export interface RunEventHubOptions {
  /**
   * How often the runs being followed are checked for events whose wake-up was lost (a writer that died
   * between commit and publish, a Redis disconnection): one query for all of them, not one per reader.
   */
  sweepIntervalMs: number;
  /** Events read per query. */
  pageSize?: number;
}

interface Subscriber {
  last: number;
  listener: RunEventListener;
}

interface Feed {
  readonly runId: string;
  readonly subscribers: Set<Subscriber>;
  reading: boolean;
  again: boolean;
  retry: NodeJS.Timeout | undefined;
  /**
   * The latest events read, with no gap: seqs `cacheFrom + 1` to the last one's. A reader that joins at or
   * after `cacheFrom` starts from it without a read (500 readers opening at once cost one read, not 500).
   */
  cache: EventView[];
  cacheFrom: number;
}

/** Events kept per followed run for readers that join late. */
const CACHE_EVENTS = 1_000;

/**
 * Live events for the API's streams, without polling Postgres per reader. Per process: one Redis
 * connection subscribed to the channel of each run that has readers here; per run: one reader of
 * `event_logs`, woken by that channel, whose rows fan out in-process to every reader of the run. A
 * wake-up during a read makes one more read after it, so a burst of commits costs a few reads, whatever
 * the number of readers.
 *
 * Readers never miss an event: a run's channel is subscribed before its first read, so an event that
 * commits after that read is announced; and `seq` is in commit order, so reading `seq > position` skips
 * nothing. Each reader keeps its own position, so none sees an event twice.
 */
export class RunEventHub {
  readonly #sql: Sql;
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #options: Required<RunEventHubOptions>;
  readonly #feeds = new Map<string, Feed>();
  /** Channels subscribed on Redis; changed only through #channelOps, in order. */
  readonly #subscribed = new Set<string>();
  #channelOps: Promise<unknown> = Promise.resolve();
  #subscriber: RedisConnection | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #reads = 0;
  #closed = false;

  constructor(
    deps: { sql: Sql; redis: RedisConnection; prefix: string; logger: Logger },
    options: RunEventHubOptions,
  ) {
    this.#sql = deps.sql;
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    this.#logger = deps.logger;
    this.#options = { pageSize: 500, ...options };
  }

  /**
   * Follows a run from after `afterSeq`. Resolves once the run's channel is subscribed; the events already
   * recorded are delivered right after, then new ones as they commit.
   */
  async subscribe(
    runId: string,
    afterSeq: number,
    listener: RunEventListener,
  ): Promise<RunEventSubscription> {
    if (this.#closed) throw new Error('the run event hub is closed');
    let feed = this.#feeds.get(runId);
    if (!feed) {
      feed = {
        runId,
        subscribers: new Set(),
        reading: false,
        again: false,
        retry: undefined,
        cache: [],
        cacheFrom: 0,
      };
      this.#feeds.set(runId, feed);
    }
    const subscriber: Subscriber = { last: afterSeq, listener };
    feed.subscribers.add(subscriber);
    const owner = feed;
    const subscription = { close: () => this.#leave(owner, subscriber) };
    try {
      await this.#syncChannel(runId);
    } catch (error) {
      subscription.close();
      throw error;
    }
    // The cache was filled by reads made after the channel was subscribed: whatever commits after its last
    // event is announced, so a reader it covers needs no read of its own.
    if (owner.cache.length > 0 && afterSeq >= owner.cacheFrom) this.#deliver(owner, subscriber, owner.cache);
    else this.#wake(owner);
    return subscription;
  }

  /** Runs and readers followed by this process, and event reads made so far (for tests and benchmarks). */
  stats(): { runs: number; subscribers: number; reads: number } {
    let subscribers = 0;
    for (const feed of this.#feeds.values()) subscribers += feed.subscribers.size;
    return { runs: this.#feeds.size, subscribers, reads: this.#reads };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const feed of this.#feeds.values()) clearTimeout(feed.retry);
    this.#feeds.clear();
    await this.#channelOps.catch(() => {});
    await this.#subscriber?.quit().catch(() => this.#subscriber?.disconnect());
  }

  #leave(feed: Feed, subscriber: Subscriber): void {
    if (!feed.subscribers.delete(subscriber) || feed.subscribers.size > 0) return;
    if (this.#feeds.get(feed.runId) === feed) this.#feeds.delete(feed.runId);
    clearTimeout(feed.retry);
    this.#syncChannel(feed.runId).catch((error: unknown) =>
      this.#logger.warn({ err: error, runId: feed.runId }, 'could not unsubscribe from a run channel'),
    );
  }

  /** Makes Redis match the feeds for one run: subscribed while it has readers here, unsubscribed after. */
  #syncChannel(runId: string): Promise<void> {
    const op = this.#channelOps.then(async () => {
      const subscriber = this.#connect();
      const channel = runEventChannel(this.#prefix, runId);
      const wanted = this.#feeds.has(runId) && !this.#closed;
      if (wanted && !this.#subscribed.has(channel)) {
        await subscriber.subscribe(channel);
        this.#subscribed.add(channel);
      } else if (!wanted && this.#subscribed.has(channel)) {
        this.#subscribed.delete(channel);
        await subscriber.unsubscribe(channel);
      }
    });
    this.#channelOps = op.catch(() => {});
    return op;
  }

  #connect(): RedisConnection {
    if (this.#subscriber) return this.#subscriber;
    // A subscribed connection can do nothing else: a dedicated one, created on first use.
    const subscriber = this.#redis.duplicate();
    const channelPrefix = runEventChannel(this.#prefix, '');
    subscriber.on('error', (error) =>
      this.#logger.warn({ err: error }, 'run event subscriber connection error'),
    );
    subscriber.on('message', (channel: string) => {
      const feed = channel.startsWith(channelPrefix)
        ? this.#feeds.get(channel.slice(channelPrefix.length))
        : undefined;
      if (feed) this.#wake(feed);
    });
    // After a reconnection (ioredis subscribes again), catch up on what was announced while disconnected.
    subscriber.on('ready', () => {
      for (const feed of this.#feeds.values()) this.#wake(feed);
    });
    this.#sweep = setInterval(() => void this.#sweepFeeds(), this.#options.sweepIntervalMs);
    this.#sweep.unref();
    this.#subscriber = subscriber;
    return subscriber;
  }

  #wake(feed: Feed): void {
    if (this.#closed || feed.subscribers.size === 0) return;
    if (feed.reading) {
      feed.again = true;
      return;
    }
    void this.#pump(feed);
  }

  /** Reads the run's new events from the lowest position among its readers and hands each its part. */
  async #pump(feed: Feed): Promise<void> {
    feed.reading = true;
    try {
      do {
        feed.again = false;
        if (feed.subscribers.size === 0 || this.#closed) break;
        let from = Number.POSITIVE_INFINITY;
        for (const subscriber of feed.subscribers) from = Math.min(from, subscriber.last);
        this.#reads++;
        const page = await readRunEvents(this.#sql, feed.runId, {
          afterSeq: from,
          limit: this.#options.pageSize,
        });
        this.#remember(feed, from, page);
        for (const subscriber of [...feed.subscribers]) this.#deliver(feed, subscriber, page);
        if (page.length === this.#options.pageSize) feed.again = true;
      } while (feed.again);
    } catch (error) {
      this.#logger.warn({ err: error, runId: feed.runId }, 'could not read run events; retrying in 1 s');
      clearTimeout(feed.retry);
      feed.retry = setTimeout(() => this.#wake(feed), 1_000);
      feed.retry.unref();
    } finally {
      feed.reading = false;
    }
  }

  /** Adds a page read after `from` to the cache, keeping it gapless and bounded. */
  #remember(feed: Feed, from: number, page: readonly EventView[]): void {
    if (page.length === 0) return;
    const head = feed.cache.at(-1)?.seq ?? feed.cacheFrom;
    if (from < feed.cacheFrom || from > head) {
      feed.cache = [...page];
      feed.cacheFrom = from;
    } else {
      feed.cache.push(...page.filter((event) => event.seq > head));
    }
    const excess = feed.cache.length - CACHE_EVENTS;
    if (excess > 0) {
      feed.cacheFrom = feed.cache[excess - 1]?.seq ?? feed.cacheFrom;
      feed.cache = feed.cache.slice(excess);
    }
  }

  #deliver(feed: Feed, subscriber: Subscriber, page: readonly EventView[]): void {
    if (!feed.subscribers.has(subscriber)) return;
    const fresh = page.filter((event) => event.seq > subscriber.last);
    const last = fresh.at(-1);
    if (!last) return;
    subscriber.last = last.seq;
    try {
      subscriber.listener.onEvents(fresh);
    } catch (error) {
      this.#logger.error({ err: error, runId: feed.runId }, 'a run event listener threw');
    }
  }

  /** One query for every followed run: wakes those whose latest event is past a reader's position. */
  async #sweepFeeds(): Promise<void> {
    if (this.#feeds.size === 0 || this.#closed) return;
    try {
      const rows = await this.#sql`
        select id, event_seq from runs where id = any(${[...this.#feeds.keys()]}::uuid[])`;
      for (const row of rows) {
        const feed = this.#feeds.get(row.id as string);
        if (!feed) continue;
        for (const subscriber of feed.subscribers) {
          if (subscriber.last < (row.event_seq as number)) {
            this.#wake(feed);
            break;
          }
        }
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'run event sweep failed');
    }
  }
}
