// A unit of work: the writes (and reads) inside fn commit together, or not at all.
export interface Transactions {
  /** Runs fn in one transaction (nested calls join the outer one). fn must not return a promise. */
  transaction<T>(fn: () => T): T;
}
