/**
 * The data plane's own HTTP headers, for the server and for every client of it (the load
 * generator, the benchmark, tests). No imports, so a client can read them without the server.
 */

/** The response header naming the version that answered; on a request, it pins that version. */
export const VERSION_HEADER = 'x-modelship-version';

/** A request header making routing sticky: the same key gets the same version at a given weight. */
export const ROUTE_KEY_HEADER = 'x-modelship-route-key';

/** The response header carrying a routed answer's prediction id, for `POST .../feedback` later. */
export const PREDICTION_ID_HEADER = 'x-modelship-prediction-id';
