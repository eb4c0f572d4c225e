/** The API's live figures, as /live and its chart use them. */
export interface LiveAnswer {
  now: string;
  eventsPerSecond: number | null;
  byCollection: Record<string, number>;
  lagSeconds: number | null;
  indexerBacklog: number;
  activeAccounts: number;
  sampledEvents: number;
}
