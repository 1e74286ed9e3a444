import type { DatabaseConnection, Dialect, Driver } from 'kysely';

/**
 * The dialect, with a driver that calls each of `listeners` once a transaction has committed (never after a
 * rollback). Lets work that waits for committed rows (the outbox relay) start at once instead of polling.
 */
export function withCommitListeners(dialect: Dialect, listeners: Set<() => void>): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver(): Driver {
      const driver = dialect.createDriver();
      return new Proxy(driver, {
        get(target, prop) {
          if (prop === 'commitTransaction') {
            return async (connection: DatabaseConnection) => {
              await target.commitTransaction(connection);
              for (const listener of listeners) listener();
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}
