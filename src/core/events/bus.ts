/** A state change that other modules (and other instances) react to. */
export interface QalqanEvent {
  /** Unique id: consumers use it to handle each event once. */
  id: string;
  /** Dotted name, `<module>.<entity>.<verb>`, e.g. `devices.imei.blocked`. */
  topic: string;
  payload: Record<string, unknown>;
  occurredAt: string;
  /**
   * Publication sequence, assigned by the relay as it publishes (increasing, with gaps). A cache that loads a
   * snapshot together with the highest published sequence it reflects can apply every event above it and miss
   * none: an event committed after the snapshot is published, and numbered, after it too.
   */
  seq: string;
}

export type EventHandler = (event: QalqanEvent) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Every instance receives every event from now on (to keep an in-memory cache in step), instead of instances
   * sharing one durable position. Nothing is kept for an instance that is down: it reloads its cache on start.
   */
  fanout?: boolean;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface EventBus {
  readonly kind: 'memory' | 'nats';
  /** Whether the broker is reachable now (a bus without a broker has none to lose). */
  connected?(): boolean;
  publish(event: QalqanEvent): Promise<void>;
  /**
   * Delivers every event whose topic matches `pattern` (NATS syntax: `*` one token, `>` the rest) to `handler`,
   * at least once. `consumer` names a durable position: instances sharing a name share the work.
   */
  subscribe(consumer: string, pattern: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return t.length > i;
    if (i >= t.length || (p[i] !== '*' && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}
