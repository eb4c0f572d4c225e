/**
 * A map with a bound on its entries and on its bytes, keys included: the least recently
 * used entry goes first when either would be passed. Every in-process cache keyed by what
 * a client sends uses one, so that a flood of distinct (or long) keys cannot grow memory.
 * @module
 */

interface Slot<V> {
  value: V;
  bytes: number;
}

export interface BoundedMapOptions<K, V> {
  /** Most entries kept at once. */
  maxEntries: number;
  /** Most bytes kept at once, as `sizeOf` counts them. */
  maxBytes: number;
  /** The bytes an entry holds, its key's included. */
  sizeOf: (key: K, value: V) => number;
}

/** Bytes a string takes at most in memory (two a character), plus a little bookkeeping. */
export function stringBytes(s: string): number {
  return 2 * s.length + 16;
}

export class BoundedMap<K, V> {
  readonly #slots = new Map<K, Slot<V>>();
  #bytes = 0;

  constructor(readonly options: BoundedMapOptions<K, V>) {}

  /** The value under `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.value;
  }

  /** The value under `key`, leaving the order of use as it is. */
  peek(key: K): V | undefined {
    return this.#slots.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#slots.has(key);
  }

  /**
   * Keeps `value` under `key`, making room by dropping the least recently used entries.
   * An entry larger than the whole byte bound is not kept: false.
   */
  set(key: K, value: V): boolean {
    this.delete(key);
    const bytes = this.options.sizeOf(key, value);
    if (bytes > this.options.maxBytes) return false;
    this.#slots.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [old] of this.#slots) {
      if (this.#bytes <= this.options.maxBytes && this.#slots.size <= this.options.maxEntries) {
        break;
      }
      this.delete(old);
    }
    return true;
  }

  delete(key: K): boolean {
    const slot = this.#slots.get(key);
    if (!slot) return false;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
    return true;
  }

  clear(): void {
    this.#slots.clear();
    this.#bytes = 0;
  }

  /** How many entries are kept. */
  get size(): number {
    return this.#slots.size;
  }

  /** How many bytes the kept entries hold, keys included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries, least recently used first. */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, slot] of this.#slots) yield [key, slot.value];
  }
}
