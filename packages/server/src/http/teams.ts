/**
 * The team routes (`@saltbox/protocol`'s `ROUTES.teams*`), registered on the app by
 * {@link registerTeamRoutes}. Every route is authenticated; the work is {@link TeamService}'s.
 *
 * @packageDocumentation
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import {
  appendTeamLinksRequestSchema,
  createTeamRequestSchema,
  ROUTES,
  teamChainQuerySchema,
  teamKeyBoxesQuerySchema,
  teamListQuerySchema,
} from '@saltbox/protocol';
import type { AppEnv } from './app.js';
import type { TeamService } from '../services/teams.js';

/** What the team routes need from the app. */
export interface TeamRouteDeps {
  teams: TeamService;
  /** Reads the capped body into the context. */
  body: MiddlewareHandler<AppEnv>;
  /** Authenticates a registered, live device. */
  authenticated: MiddlewareHandler<AppEnv>;
  /** Parses a JSON body against a schema (`VALIDATION_FAILED`, `MALFORMED_REQUEST`). */
  parseBody: <S extends z.ZodType>(body: Uint8Array, schema: S) => z.output<S>;
  /** Validates a query against a schema (`VALIDATION_FAILED`). */
  validate: <S extends z.ZodType>(value: unknown, schema: S) => z.output<S>;
}

/**
 * Registers `POST|GET /api/v1/teams`, `DELETE /api/v1/teams/:team`,
 * `GET|POST /api/v1/teams/:team/chain` and
 * `GET /api/v1/teams/:team/key-boxes`. `:team` is a team ID or a canonical name.
 */
export function registerTeamRoutes(app: Hono<AppEnv>, deps: TeamRouteDeps): void {
  const { teams, body, authenticated, parseBody, validate } = deps;
  // Authenticated routes always have a registered key (sign-up is the only exception).
  const caller = (c: Context<AppEnv>) => c.get('auth')!.key!;

  app.post(ROUTES.teams, body, authenticated, async (c) => {
    const req = parseBody(c.get('body'), createTeamRequestSchema);
    return c.json(await teams.create(req, caller(c)), 201);
  });

  app.get(ROUTES.teams, body, authenticated, async (c) => {
    const q = validate(c.req.query(), teamListQuerySchema);
    return c.json(await teams.list(caller(c).uid, q.implicit === 'true'));
  });

  app.delete(ROUTES.team, body, authenticated, async (c) => {
    const key = caller(c);
    const team = await teams.readable(c.req.param('team'), key.uid);
    return c.json(await teams.delete(team, key));
  });

  app.get(ROUTES.teamChain, body, authenticated, async (c) => {
    const team = await teams.readable(c.req.param('team'), caller(c).uid);
    const q = validate(c.req.query(), teamChainQuerySchema);
    return c.json(await teams.chain(team, q.since));
  });

  app.post(ROUTES.teamChain, body, authenticated, async (c) => {
    const key = caller(c);
    const team = await teams.readable(c.req.param('team'), key.uid);
    const req = parseBody(c.get('body'), appendTeamLinksRequestSchema);
    return c.json(await teams.append(team, req, key));
  });

  app.get(ROUTES.teamKeyBoxes, body, authenticated, async (c) => {
    const key = caller(c);
    const team = await teams.readable(c.req.param('team'), key.uid);
    const q = validate(c.req.query(), teamKeyBoxesQuerySchema);
    return c.json(await teams.keyBoxes(team, key.uid, q.generation));
  });
}
