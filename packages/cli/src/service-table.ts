/**
 * The client service's RPC table (issue #15.2), modelled on the keystore's (`rpc.ts` of
 * `@saltbox/keystore`): one entry per method with its request and response schema. The agent
 * validates every request with it; the types of the CLI's client and of the agent's
 * implementation are derived from it, so a method cannot be added, removed or reshaped in one
 * place only (`service-table.test.ts`).
 *
 * Every method answers with data, never with an API error: `kvstore api` errors are reply lines,
 * exactly the lines the in-process dispatcher writes, so both paths answer the same.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import type { ServiceMethod } from './service-methods.js';

/** The largest piece of `kvstore api` input one call carries (a 1 MiB value, JSON-escaped). */
export const MAX_SERVICE_TEXT = 16 * 1024 * 1024;

/** One table entry. */
export interface ServiceEntry {
  readonly request: z.ZodType;
  readonly response: z.ZodType;
}

const replies = z.object({
  /** The reply lines written so far, each ending in a newline, in request order. */
  replies: z.array(z.string()),
});
const streamId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** The service's methods: name → request and response schema. */
export const serviceTable = {
  /** Whether a warm client is held, for whom, and how many requests the service answered. */
  status: {
    request: z.object({}),
    response: z.object({
      warm: z.boolean(),
      /** The account the warm client acts as (null when none is held). */
      username: z.string().nullable(),
      /** Service requests answered since the agent started (`kvstore api` requests count one each). */
      served: z.number().int().min(0),
    }),
  },
  /** Answers a whole `kvstore api` input (`-m`, and the `kv` commands' single requests). */
  kvstoreApi: {
    request: z.object({ text: z.string().max(MAX_SERVICE_TEXT), pretty: z.boolean().optional() }),
    response: replies,
  },
  /** Starts a `kvstore api` stream (standard input or `-i`): requests answered as they complete. */
  kvstoreOpen: {
    request: z.object({ pretty: z.boolean().optional() }),
    response: z.object({ stream: streamId }),
  },
  /**
   * Feeds input bytes (base64: a chunk may end inside a UTF-8 sequence, and bytes that are not
   * UTF-8 must reach the dispatcher as they are) to a stream; answers once every complete
   * request in them has its reply.
   */
  kvstoreWrite: {
    request: z.object({ stream: streamId, data: z.base64().max(MAX_SERVICE_TEXT) }),
    response: replies,
  },
  /** Ends a stream's input; answers with the remaining replies. */
  kvstoreEnd: {
    request: z.object({ stream: streamId }),
    response: replies,
  },
} as const satisfies Record<ServiceMethod, ServiceEntry>;

/** The typed request of a method. */
export type ServiceRequest<M extends ServiceMethod> = z.output<(typeof serviceTable)[M]['request']>;
/** The typed response of a method. */
export type ServiceResponse<M extends ServiceMethod> = z.output<
  (typeof serviceTable)[M]['response']
>;

/** The service interface, mapped from the table: one async method per entry. */
export type ServiceApi = {
  [M in ServiceMethod]: (request: ServiceRequest<M>) => Promise<ServiceResponse<M>>;
};
