/**
 * The names of the client service the agent offers beside the keystore (issue #15.2): the
 * runtime list the CLI's light service client is built from. The schemas are in
 * `service-table.ts`, which only the agent loads (zod costs start-up time the client must not
 * pay); `service-table.test.ts` checks that both and the agent's implementation agree.
 *
 * @packageDocumentation
 */

/** Every service method, as declared; on the socket each is `client.<name>`. */
export const SERVICE_METHODS = [
  'status',
  'kvstoreApi',
  'kvstoreOpen',
  'kvstoreWrite',
  'kvstoreEnd',
] as const;

/** A service method name. */
export type ServiceMethod = (typeof SERVICE_METHODS)[number];

/** The socket name of a service method (kept apart from the keystore table's names). */
export const serviceWireName = (method: ServiceMethod): string => `client.${method}`;
