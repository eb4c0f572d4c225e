/**
 * The API's parameters and answers as zod schemas: they validate, and /openapi.json is built
 * from them. The parameters shared by endpoints are in schemas/params.ts, each endpoint's
 * query in schemas/queries.ts, and the answers in schemas/answers.ts.
 */
export {
  filterParams,
  MAX_EXCLUDE,
  MAX_LIMIT,
  MAX_WINDOW_HOURS,
  spanParam,
  windowParam,
} from "./schemas/params.ts";
export {
  BLOCKS_CURSOR,
  blocksQuery,
  changesQuery,
  circlesQuery,
  interactionsQuery,
  MAX_BLOCKS_LIMIT,
  noQuery,
  optoutQuery,
  searchQuery,
  TOP_LIST_METRICS,
  TOP_LIST_WINDOWS,
  topQuery,
} from "./schemas/queries.ts";
export {
  blocksAnswer,
  changesAnswer,
  circlesAnswer,
  errorAnswer,
  healthAnswer,
  INDEXER_DEFAULTS,
  interactionsAnswer,
  jobsAnswer,
  liveAnswer,
  metaAnswer,
  optoutAnswer,
  profile,
  searchAnswer,
  topAnswer,
} from "./schemas/answers.ts";
