/**
 * Handlers registered from the HTTP contract (`@saltbox/protocol`'s `CONTRACT`): the method and
 * path come from the table, and so do the middleware — the per-address limit for public and
 * sign-up endpoints, the capped body and the signature check for signed ones — and one
 * validation step that parses the path parameters, the query and the JSON body with the
 * entry's schemas (`VALIDATION_FAILED`, `MALFORMED_REQUEST`) before the handler runs.
 *
 * @packageDocumentation
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { CONTRACT } from '@saltbox/protocol';
import type { EndpointInput, EndpointName, HttpMethod } from '@saltbox/protocol';
import type { AppEnv } from './env.js';
import { bodyUpTo, parseBody, validate } from './middleware.js';

/** A handler of one endpoint: the context and the validated request parts. */
export type RouteHandler<N extends EndpointName> = (
  c: Context<AppEnv>,
  input: EndpointInput<N>,
) => Response | Promise<Response>;

/** Per-route choices that are the server's, not the contract's. */
export interface RouteOptions {
  /** Largest body of a signed request (default the app's `maxBodyBytes`). */
  maxBodyBytes?: number;
  /** Leave a public endpoint out of the per-address limit (health and metrics probes). */
  unlimited?: boolean;
}

/** Registers endpoint handlers. */
export interface Router {
  /** Registers the handler of `name` at its method and path, behind its middleware. */
  route<N extends EndpointName>(name: N, handler: RouteHandler<N>): void;
  route<N extends EndpointName>(name: N, options: RouteOptions, handler: RouteHandler<N>): void;
}

/** What {@link createRouter} needs from the app. */
export interface RouterDeps {
  app: Hono<AppEnv>;
  maxBodyBytes: number;
  /** The per-address limit. */
  addressLimit: MiddlewareHandler<AppEnv>;
  /** Authentication; `true` accepts a key not registered yet (sign-up). */
  authenticated: (allowUnregistered: boolean) => MiddlewareHandler<AppEnv>;
}

/** Parses the parameters, query and body the entry declares into `c.get('input')`. */
function validation(name: EndpointName): MiddlewareHandler<AppEnv> {
  const e = CONTRACT[name];
  return async (c, next) => {
    c.set('input', {
      params: e.params === null ? undefined : validate(c.req.param(), e.params),
      query: e.query === null ? undefined : validate(c.req.query(), e.query),
      body: e.body === null ? undefined : parseBody(c.get('body'), e.body),
    });
    await next();
  };
}

/** A router over `deps.app`. */
export function createRouter(deps: RouterDeps): Router {
  const signed = (max: number) => [bodyUpTo(max), deps.authenticated(false)];
  return {
    route<N extends EndpointName>(
      name: N,
      ...args: [RouteHandler<N>] | [RouteOptions, RouteHandler<N>]
    ) {
      const [options, handler] = args.length === 1 ? [{}, args[0]] : args;
      const e = CONTRACT[name];
      const max = options.maxBodyBytes ?? deps.maxBodyBytes;
      const before: MiddlewareHandler<AppEnv>[] =
        e.auth === 'device'
          ? signed(max)
          : e.auth === 'signup'
            ? [deps.addressLimit, bodyUpTo(max), deps.authenticated(true)]
            : options.unlimited === true
              ? []
              : [deps.addressLimit];
      const method: HttpMethod = e.method;
      deps.app.on(method, [e.path], ...before, validation(name), (c: Context<AppEnv>) =>
        handler(c, c.get('input') as EndpointInput<N>),
      );
    },
  };
}
