/**
 * The team routes (`@saltbox/protocol`'s `CONTRACT` entries `createTeam`, `listTeams`,
 * `deleteTeam`, `teamChain`, `appendTeamLinks`, `teamKeyBoxes`), registered by
 * {@link registerTeamRoutes}. Every route is authenticated; the work is {@link TeamService}'s.
 *
 * @packageDocumentation
 */
import type { Context } from 'hono';
import type { AppEnv } from './env.js';
import type { Router } from './route.js';
import type { TeamService } from '../services/teams.js';

/** What the team routes need from the app. */
export interface TeamRouteDeps {
  teams: TeamService;
}

/**
 * Registers `POST|GET /api/v1/teams`, `DELETE /api/v1/teams/:team`,
 * `GET|POST /api/v1/teams/:team/chain` and
 * `GET /api/v1/teams/:team/key-boxes`. `:team` is a team ID or a canonical name.
 */
export function registerTeamRoutes(r: Router, deps: TeamRouteDeps): void {
  const { teams } = deps;
  // Authenticated routes always have a registered key (sign-up is the only exception).
  const caller = (c: Context<AppEnv>) => c.get('auth')!.key!;

  r.route('createTeam', async (c, { body }) => c.json(await teams.create(body, caller(c)), 201));

  r.route('listTeams', async (c, { query }) =>
    c.json(await teams.list(caller(c).uid, query.implicit === 'true')),
  );

  r.route('deleteTeam', async (c, { params }) => {
    const key = caller(c);
    const team = await teams.readable(params.team, key.uid);
    return c.json(await teams.delete(team, key));
  });

  r.route('teamChain', async (c, { params, query }) => {
    const team = await teams.readable(params.team, caller(c).uid);
    return c.json(await teams.chain(team, query.since));
  });

  r.route('appendTeamLinks', async (c, { params, body }) => {
    const key = caller(c);
    const team = await teams.readable(params.team, key.uid);
    return c.json(await teams.append(team, body, key));
  });

  r.route('teamKeyBoxes', async (c, { params, query }) => {
    const key = caller(c);
    const team = await teams.readable(params.team, key.uid);
    return c.json(await teams.keyBoxes(team, key.uid, query.generation));
  });
}
