/**
 * The limits circles' filters state to people (the site's /about, the API's docs), apart from
 * circle_filters.ts, which reads Redis: a page that only names a limit loads no Redis client.
 */

/** More interactions than this sent within one UTC day marks an account as acting like a bot. */
export const BOT_DAY_INTERACTIONS = 1000;
