import { z } from 'zod';
import { fail } from '../../domain/errors.js';
import { checkLabel, type Pictures } from '../../domain/pictures.js';
import type { Metrics } from '../../metrics/metrics.js';
import { json, noContent } from '../reply.js';
import { jsonBody, uploadBody } from '../parse-body.js';
import type { Ctx } from '../context.js';
import type { HandlersOf, RouteDecls } from './route-decl.js';

export interface PictureRouteDeps {
  pictures: Pictures;
  metrics: Metrics;
  maxUploadBytes: number;
}

// Picture ids are UUIDv7; anything else cannot name a picture.
const PICTURE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
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

const USER = '/api/v1/users/:username';

export const PICTURE_ROUTES = {
  upload: { method: 'post', pattern: `${USER}/pictures`, auth: 'owner', body: 'upload' },
  listPictures: { method: 'get', pattern: `${USER}/pictures`, auth: 'owner' },
  getPicture: { method: 'get', pattern: `${USER}/pictures/:id`, auth: 'owner' },
  relabelPicture: { method: 'patch', pattern: `${USER}/pictures/:id`, auth: 'owner', body: 'json' },
  deletePicture: { method: 'del', pattern: `${USER}/pictures/:id`, auth: 'owner' },
  setActive: { method: 'put', pattern: `${USER}/active`, auth: 'owner', body: 'json' },
  clearActive: { method: 'del', pattern: `${USER}/active`, auth: 'owner' },
} as const satisfies RouteDecls;

export function pictureHandlers(d: PictureRouteDeps): HandlersOf<typeof PICTURE_ROUTES> {
  return {
    upload: (ctx, principal) => d.metrics.countUpload(async () => {
      const makeActive = parseActiveFlag(ctx.query.get('active'));
      const input = await uploadBody(ctx, d.maxUploadBytes);
      const label = checkLabel(input.label ?? ctx.query.get('label') ?? '');
      const picture = await d.pictures.upload(principal, input.bytes, { makeActive, label });
      return json(201, picture, { Location: `/api/v1/users/${principal.username}/pictures/${picture.id}` });
    }),
    listPictures: async (_ctx, p) => json(200, { pictures: await d.pictures.list(p.username) }),
    getPicture: async (ctx, p) => json(200, await d.pictures.get(p.username, pictureId(ctx))),
    relabelPicture: async (ctx, p) => {
      const id = pictureId(ctx);
      const { label } = await jsonBody(ctx, labelSchema);
      return json(200, await d.pictures.relabel(p.username, id, label));
    },
    deletePicture: async (ctx, p) => {
      await d.pictures.remove(p, pictureId(ctx));
      return noContent();
    },
    setActive: async (ctx, p) => {
      const { pictureId: id } = await jsonBody(ctx, activeSchema);
      const normalized = id.toLowerCase();
      if (!PICTURE_ID.test(normalized)) throw fail('picture_not_found');
      return json(200, await d.pictures.setActive(p, normalized));
    },
    clearActive: async (_ctx, p) => {
      await d.pictures.clearActive(p);
      return noContent();
    },
  };
}
