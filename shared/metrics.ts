/**
 * A small Prometheus text-format registry (exposition format 0.0.4): counters,
 * gauges and histograms with labels, plus collectors that read a value at scrape time.
 */

type Labels = Record<string, string>;

function labelKey(names: readonly string[], labels: Labels): string {
  return names.map((n) => labels[n] ?? "").join("\u0000");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function renderLabels(names: readonly string[], key: string, extra = ""): string {
  const values = key.split("\u0000");
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

interface Metric {
  readonly name: string;
  render(): string | Promise<string>;
}

/** A monotonically increasing count. */
export class Counter<L extends string = never> implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly L[]) {}
  inc(labels?: Record<L, string>, by = 1): void {
    const key = labelKey(this.labelNames, labels ?? {});
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  /** A handle on one label set, for hot paths: no key is built per increment. */
  with(labels: Record<L, string>): { inc(by?: number): void } {
    const key = labelKey(this.labelNames, labels);
    const values = this.#values;
    if (!values.has(key)) values.set(key, 0);
    return { inc: (by = 1) => values.set(key, values.get(key)! + by) };
  }
  get(labels?: Record<L, string>): number {
    return this.#values.get(labelKey(this.labelNames, labels ?? {})) ?? 0;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.#values.size === 0 && this.labelNames.length === 0) out += `${this.name} 0\n`;
    for (const [k, v] of this.#values) {
      out += `${this.name}${renderLabels(this.labelNames, k)} ${formatNumber(v)}\n`;
    }
    return out;
  }
}

/** A value that goes up and down; `collect` reads it at scrape time when given. */
export class Gauge<L extends string = never> implements Metric {
  #values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    readonly collect?: (gauge: Gauge<L>) => void | Promise<void>,
  ) {}
  set(labels: Record<L, string> | undefined, value: number): void {
    this.#values.set(labelKey(this.labelNames, labels ?? {}), value);
  }
  get(labels?: Record<L, string>): number | undefined {
    return this.#values.get(labelKey(this.labelNames, labels ?? {}));
  }
  async render(): Promise<string> {
    if (this.collect) {
      try {
        await this.collect(this);
      } catch {
        // A failing collector keeps its last values: a scrape must never fail.
      }
    }
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const [k, v] of this.#values) {
      out += `${this.name}${renderLabels(this.labelNames, k)} ${formatNumber(v)}\n`;
    }
    return out;
  }
}

/** Observations counted into cumulative buckets. */
export class Histogram implements Metric {
  #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.#counts = new Array(buckets.length).fill(0);
  }
  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) {
        this.#counts[i]++;
        break;
      }
    }
  }
  get count(): number {
    return this.#count;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.#counts[i];
      out += `${this.name}_bucket{le="${formatNumber(this.buckets[i])}"} ${cumulative}\n`;
    }
    out += `${this.name}_bucket{le="+Inf"} ${this.#count}\n`;
    out += `${this.name}_sum ${formatNumber(this.#sum)}\n${this.name}_count ${this.#count}\n`;
    return out;
  }
}

/** Holds a service's metrics and renders them for /metrics. */
export class Registry {
  #metrics = new Map<string, Metric>();

  #add<M extends Metric>(metric: M): M {
    if (this.#metrics.has(metric.name)) {
      throw new Error(`Cannot register metric: "${metric.name}" is already registered`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  counter<L extends string = never>(name: string, help: string, labels: readonly L[] = []) {
    return this.#add(new Counter<L>(name, help, labels));
  }

  gauge<L extends string = never>(
    name: string,
    help: string,
    labels: readonly L[] = [],
    collect?: (gauge: Gauge<L>) => void | Promise<void>,
  ) {
    return this.#add(new Gauge<L>(name, help, labels, collect));
  }

  histogram(name: string, help: string, buckets: readonly number[]) {
    return this.#add(new Histogram(name, help, [...buckets].sort((a, b) => a - b)));
  }

  /** The text exposition of every metric. */
  async render(): Promise<string> {
    const parts = await Promise.all([...this.#metrics.values()].map((m) => m.render()));
    return parts.join("");
  }
}

/** The content type Prometheus expects for the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
