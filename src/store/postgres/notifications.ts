// Word of other processes' commits: LISTEN on one dedicated connection (not one of the pool: a pooled
// client would be handed to other work). Every write transaction NOTIFYs the database's channel with a
// payload "<writer> <kind> <detail>", delivered at its commit; each store object subscribes under its
// own writer id and hears everybody's notifications but its own (it announced those at its commit).
//
// The connection may be lost (the server restarted, the session ended): then notifications are missed,
// so until it is back the counters (resourceVersion, gateway revision) are polled every pollMs and handed
// to the subscribers, the connection is tried again at the same pace, and once it listens again a last
// poll covers what happened in between. Nothing here throws: failures go to onError.
import { createHash } from 'node:crypto';
import pg from 'pg';

export interface NotificationSubscriber {
  /** Another writer's commit: its kind and detail (the payload after the writer id). */
  notified(kind: string, detail: string): void;
  /** The counters as committed now, polled while the LISTEN connection is down and once when it is back. */
  polled(counters: ReadonlyMap<string, number>): void;
}

export interface NotificationsOptions {
  url: string;
  /** The pool, for the polls. */
  pool: pg.Pool;
  channel: string;
  applicationName: string;
  pollMs: number;
  connectTimeoutMs: number;
  onError: (err: Error) => void;
}

/** The channel of a schema: notifications are per database, so replicas of another schema must not hear them. */
export function channelOf(schema: string): string {
  const channel = `mcp_control_plane.${schema}`;
  // A channel name is an identifier: at most 63 bytes.
  return Buffer.byteLength(channel) <= 63 ? channel : `mcp_control_plane.${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

export class Notifications {
  private readonly subscribers = new Map<string, NotificationSubscriber>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: NotificationsOptions) {}

  /** Listening now (else the counters are being polled). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Tries to listen once; on failure polls and tries again later. */
  async start(): Promise<void> {
    if (!(await this.listen())) this.schedule();
  }

  subscribe(writer: string, subscriber: NotificationSubscriber): () => void {
    this.subscribers.set(writer, subscriber);
    return () => void this.subscribers.delete(writer);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** Connects and LISTENs; answers whether it listens now. */
  private async listen(): Promise<boolean> {
    const { url, channel, applicationName, connectTimeoutMs } = this.options;
    const client = new pg.Client({ connectionString: url, application_name: applicationName, connectionTimeoutMillis: connectTimeoutMs, keepAlive: true });
    client.on('error', (err) => {
      this.options.onError(err);
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) this.dispatch(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      this.options.onError(err as Error);
      await client.end().catch(() => {});
      return false;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return false;
    }
    this.client = client;
    return true;
  }

  private lost(client: pg.Client): void {
    if (client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => void this.tick(), this.options.pollMs);
    this.timer.unref();
  }

  /** While not listening: poll, and try to listen again. */
  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed || this.client) return;
    const listening = await this.listen();
    // After the LISTEN, so nothing committed in between goes unnoticed.
    await this.poll();
    if (!listening) this.schedule();
  }

  private async poll(): Promise<void> {
    let counters: Map<string, number>;
    try {
      const { rows } = await this.options.pool.query<{ name: string; value: number }>('SELECT name, value FROM counters');
      counters = new Map(rows.map((r) => [r.name, r.value]));
    } catch (err) {
      this.options.onError(err as Error);
      return;
    }
    if (this.closed) return;
    for (const subscriber of [...this.subscribers.values()]) {
      try {
        subscriber.polled(counters);
      } catch (err) {
        this.options.onError(err as Error);
      }
    }
  }

  private dispatch(payload: string): void {
    const [writer = '', kind = '', ...rest] = payload.split(' ');
    const detail = rest.join(' ');
    for (const [id, subscriber] of [...this.subscribers]) {
      if (id === writer) continue;
      try {
        subscriber.notified(kind, detail);
      } catch (err) {
        this.options.onError(err as Error);
      }
    }
  }
}
