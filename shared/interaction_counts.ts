/**
 * What someone did with an account, by interaction type, and the score it adds up to: the
 * API's interactions answer gives these for each person, and the site's people table shows
 * them.
 */
export interface InteractionCounts {
  like: number;
  repost: number;
  reply: number;
  quote: number;
  mention: number;
  score: number;
}

/** The counts and score of a row, without its other fields, in the answers' order. */
export function interactionCounts(c: InteractionCounts): InteractionCounts {
  return {
    like: c.like,
    repost: c.repost,
    reply: c.reply,
    quote: c.quote,
    mention: c.mention,
    score: c.score,
  };
}
