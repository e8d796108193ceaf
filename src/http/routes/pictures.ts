import { z } from 'zod';
import { Accounts, type Principal } from '../../domain/accounts.js';
import { AppError, fail } from '../../domain/errors.js';
import { checkLabel, type Pictures } from '../../domain/pictures.js';
import type { Metrics } from '../../metrics/metrics.js';
import { json, noContent, type Reply } from '../reply.js';
import { JSON_BODY_LIMIT, jsonBody, uploadBody, uploadBodyLimit } from '../parse-body.js';
import type { Ctx } from '../context.js';
import type { RouteSpec } from '../router.js';

export interface PictureRouteDeps {
  accounts: Accounts;
  pictures: Pictures;
  metrics: Metrics;
  maxUploadBytes: number;
}

// Picture ids are UUIDv7; anything else cannot name a picture.
const PICTURE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const USER = '/api/v1/users/:username';
const labelSchema = z.object({ label: z.string({ error: 'expected a string label' }) });
const activeSchema = z.object({ pictureId: z.string({ error: 'expected a string pictureId' }) });

function pictureId(ctx: Ctx): string {
  const id = ctx.params[1]!.toLowerCase();
  if (!PICTURE_ID.test(id)) throw fail('picture_not_found');
  return id;
}

function parseActiveFlag(value: string | null): boolean {
  if (value === null || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1' || value === '') return true;
  throw fail('invalid_active', value);
}

export function pictureRoutes(d: PictureRouteDeps): RouteSpec[] {
  /** Authenticates, then checks the token acts on the path's own user. */
  const owner = (fn: (ctx: Ctx, principal: Principal) => Promise<Reply>) => async (ctx: Ctx): Promise<Reply> => {
    const principal = await d.accounts.authenticate(ctx.header('authorization'));
    Accounts.authorize(principal, ctx.params[0]!);
    return fn(ctx, principal);
  };

  const upload = async (ctx: Ctx, principal: Principal): Promise<Reply> => {
    try {
      const makeActive = parseActiveFlag(ctx.query.get('active'));
      const input = await uploadBody(ctx, d.maxUploadBytes);
      const label = checkLabel(input.label ?? ctx.query.get('label') ?? '');
      const picture = await d.pictures.upload(principal, input.bytes, { makeActive, label });
      d.metrics.uploads.inc({ outcome: 'created' });
      return json(201, picture, { Location: `/api/v1/users/${principal.username}/pictures/${picture.id}` });
    } catch (err) {
      d.metrics.uploads.inc({ outcome: err instanceof AppError ? err.code : 'internal' });
      throw err;
    }
  };

  return [
    { method: 'post', pattern: `${USER}/pictures`, bodyLimit: uploadBodyLimit(d.maxUploadBytes), handler: owner(upload) },
    {
      method: 'get', pattern: `${USER}/pictures`,
      handler: owner(async (_ctx, p) => json(200, { pictures: await d.pictures.list(p.username) })),
    },
    {
      method: 'get', pattern: `${USER}/pictures/:id`,
      handler: owner(async (ctx, p) => json(200, await d.pictures.get(p.username, pictureId(ctx)))),
    },
    {
      method: 'patch', pattern: `${USER}/pictures/:id`, bodyLimit: JSON_BODY_LIMIT,
      handler: owner(async (ctx, p) => {
        const id = pictureId(ctx);
        const { label } = await jsonBody(ctx, labelSchema);
        return json(200, await d.pictures.relabel(p.username, id, label));
      }),
    },
    {
      method: 'del', pattern: `${USER}/pictures/:id`,
      handler: owner(async (ctx, p) => {
        await d.pictures.remove(p, pictureId(ctx));
        return noContent();
      }),
    },
    {
      method: 'put', pattern: `${USER}/active`, bodyLimit: JSON_BODY_LIMIT,
      handler: owner(async (ctx, p) => {
        const { pictureId: id } = await jsonBody(ctx, activeSchema);
        const normalized = id.toLowerCase();
        if (!PICTURE_ID.test(normalized)) throw fail('picture_not_found');
        return json(200, await d.pictures.setActive(p, normalized));
      }),
    },
    {
      method: 'del', pattern: `${USER}/active`,
      handler: owner(async (_ctx, p) => {
        await d.pictures.clearActive(p);
        return noContent();
      }),
    },
  ];
}
