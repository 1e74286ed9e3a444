import pg from 'pg';

export interface Listening {
  close(): Promise<void>;
}

const MAX_RETRY_MS = 5_000;

/**
 * LISTENs on `channel` over a connection of its own (a pooled one would be handed to other queries). A lost
 * connection is opened again with back-off; `onNotify` is also called after each (re)connect, because
 * notifications sent while it was away are gone.
 */
export async function listenPostgres(url: string, channel: string, onNotify: () => void, onError: (err: unknown) => void): Promise<Listening> {
  let current: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let delay = 100;

  function lost(client: pg.Client): void {
    if (client !== current) return;
    current = null;
    client.end().catch(() => undefined);
    if (closed) return;
    timer = setTimeout(() => void connect(), delay);
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }

  async function connect(): Promise<void> {
    timer = null;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    current = client;
    client.on('notification', (n) => {
      if (n.channel === channel) onNotify();
    });
    client.on('error', (err) => {
      onError(err);
      lost(client);
    });
    client.on('end', () => lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      onError(err);
      lost(client);
      return;
    }
    delay = 100;
    onNotify();
  }

  await connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const client = current;
      current = null;
      await client?.end().catch(() => undefined);
    },
  };
}
