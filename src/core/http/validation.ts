import { AjvCompiler, type RouteDefinition, type ValidatorFactory } from '@fastify/ajv-compiler';

/** Data with at most this many values gets every error reported; bigger data, its first error only. */
export const ALL_ERRORS_MAX_VALUES = 10_000;

/** Whether `data` holds at most `max` values (objects, arrays and scalars), found without walking bigger data. */
export function holdsAtMost(data: unknown, max: number): boolean {
  const stack: unknown[] = [data];
  let seen = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    seen++;
    if (value === null || typeof value !== 'object') continue;
    const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
    if (seen + stack.length + children.length > max) return false;
    for (const child of children) stack.push(child);
  }
  return true;
}

/**
 * Fastify's own Ajv compiler, with validation that stops at the first error (so a huge invalid body costs no more
 * than a valid one, where `allErrors` made a 4 MB body cost a second and 700 MB) and, for small data, a second pass
 * with `allErrors` so that a form's bad fields are all reported at once.
 */
export const buildValidator: ValidatorFactory = (externalSchemas, options = {}) => {
  if (options.mode === 'JTD') return AjvCompiler()(externalSchemas, options);
  const custom = options.customOptions ?? {};
  const first = AjvCompiler()(externalSchemas, { ...options, customOptions: { ...custom, allErrors: false } });
  const every = AjvCompiler()(externalSchemas, { ...options, customOptions: { ...custom, allErrors: true } });
  return (route: RouteDefinition) => {
    const fast = first(route);
    let full: typeof fast | undefined;
    const validate = ((data: unknown, context?: never) => {
      if (fast(data, context)) return true;
      validate.errors = fast.errors;
      if (holdsAtMost(data, ALL_ERRORS_MAX_VALUES)) {
        full ??= every(route);
        full(data, context);
        validate.errors = full.errors ?? fast.errors;
      }
      return false;
    }) as typeof fast;
    // Fastify hands Ajv's functions (marked by schemaEnv) the parent object, so coercion can replace a root value.
    return Object.assign(validate, { schemaEnv: fast.schemaEnv });
  };
};
