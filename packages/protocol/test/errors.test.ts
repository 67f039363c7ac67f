import { describe, expect, it } from 'vitest';
import {
  ApiError,
  ERROR_CODES,
  ERROR_STATUS,
  errorBodySchema,
  httpStatusFor,
  isApiError,
} from '../src/index.js';

describe('error-code table', () => {
  it('maps every code to a conventional status', () => {
    const allowed = new Set([400, 401, 403, 404, 405, 409, 413, 429, 500, 503]);
    for (const code of ERROR_CODES) {
      expect(allowed.has(httpStatusFor(code)), code).toBe(true);
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
    }
    expect(ERROR_STATUS).toMatchObject({
      USER_NOT_FOUND: 404,
      USERNAME_TAKEN: 409,
      BAD_SIGNATURE: 401,
      STALE_REQUEST: 401,
      REPLAYED_REQUEST: 401,
      DEVICE_REVOKED: 403,
      RATE_LIMITED: 429,
      PAYLOAD_TOO_LARGE: 413,
      VALIDATION_FAILED: 400,
      CHAIN_INVALID: 400,
      NOT_FOUND: 404,
      FORBIDDEN: 403,
      INTERNAL: 500,
    });
  });

  it('serialises as {"error":{"code","message"}} and rebuilds from a body', () => {
    const e = new ApiError('USERNAME_TAKEN', 'username is already registered');
    expect(e.status).toBe(409);
    const wire: unknown = JSON.parse(JSON.stringify(e));
    expect(errorBodySchema.parse(wire)).toEqual({
      error: { code: 'USERNAME_TAKEN', message: 'username is already registered' },
    });
    const back = ApiError.fromBody(wire);
    expect(isApiError(back, 'USERNAME_TAKEN')).toBe(true);
    expect(back.message).toBe('username is already registered');
  });

  it('turns an unknown or malformed error body into INTERNAL', () => {
    for (const body of [null, {}, { error: 'x' }, { error: { code: 'MADE_UP', message: 'm' } }])
      expect(ApiError.fromBody(body).code).toBe('INTERNAL');
  });
});
