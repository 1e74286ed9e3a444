// The set of known TACs the EIR answers "unknown equipment" from.

const TAC_LIMIT = 1e8; // 8 digits

/** The TAC as a number, or -1 if it is not 8 ASCII digits / an integer in 0 … 10^8 - 1. */
function tacNumber(tac: string | number): number {
  if (typeof tac === 'number') return Number.isInteger(tac) && tac >= 0 && tac < TAC_LIMIT ? tac : -1;
  if (tac.length !== 8) return -1;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const d = tac.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function requireTac(tac: string | number): number {
  const n = tacNumber(tac);
  if (n < 0) throw new RangeError(`expected an 8-digit TAC, got ${JSON.stringify(tac)}`);
  return n;
}

/**
 * Set of 8-digit TACs (type allocation codes) known from the GSMA TAC database. A TAC is 8 ASCII digits or the
 * same value as a number (`'01234567'` and `1234567` are one TAC). Numbers below 2^31 are small integers in V8,
 * so this is a plain Set (~20–40 bytes per TAC; the GSMA database has a few hundred thousand).
 */
export class TacSet {
  private readonly tacs = new Set<number>();

  /** Throws RangeError on a value that is not a TAC. */
  static build(tacs: Iterable<string | number>): TacSet {
    const set = new TacSet();
    for (const tac of tacs) set.add(tac);
    return set;
  }

  /** False for anything that is not a TAC. */
  has(tac: string | number): boolean {
    const n = tacNumber(tac);
    return n >= 0 && this.tacs.has(n);
  }

  /** Throws RangeError on a value that is not a TAC. */
  add(tac: string | number): void {
    this.tacs.add(requireTac(tac));
  }

  /** Throws RangeError on a value that is not a TAC. */
  delete(tac: string | number): void {
    this.tacs.delete(requireTac(tac));
  }

  get size(): number {
    return this.tacs.size;
  }
}
