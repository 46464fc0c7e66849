/** WebSocket close codes the hub uses (4000-4999 are the application's own). */
export const CLOSE = {
  /** The hub is shutting down; reconnect later. */
  GOING_AWAY: 1001,
  /** A frame exceeded the hard frame limit (set by ws itself). */
  TOO_BIG: 1009,
  PROTOCOL_VERSION: 4000,
  UNAUTHORIZED: 4001,
  NO_HELLO: 4002,
  TOO_MANY_ERRORS: 4003,
  /** Feed subscriber too slow to keep up. */
  TOO_SLOW: 4008,
  /** The same agent connected again; this older connection is closed. */
  REPLACED: 4009,
  /** The agent was removed by an operator. */
  REMOVED: 4010,
  /** The token this connection authenticated with was revoked, or the admin token rotated. */
  TOKEN_REVOKED: 4011,
  /** The agent is kept out for a while after too many violations; the error before says how long. */
  COOLING_OFF: 4012,
} as const;

/**
 * How long a socket the hub closed (or that failed) may take to answer the close frame before it
 * is cut. Nothing it sends meanwhile is acted on; without the cut, ws waits 30 s for a peer that
 * ignores it.
 */
export const CLOSE_GRACE_MS = 1_000;
