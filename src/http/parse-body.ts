import uWS from '@trufflesuite/uws-js-unofficial';
import { z } from 'zod';
import { fail } from '../domain/errors.js';
import type { Ctx } from './context.js';
import { checkMultipartLimits, multipartPartsWatch } from './multipart-limits.js';
import type { BodyWatch } from './read-body.js';

/**
 * What a route makes of the bytes read-body.ts read: a JSON document checked against a zod
 * schema, or the image of an upload. Both answer 400/413/415 with the catalogue's codes.
 */

/** JSON bodies of the management API are small; anything larger is refused unread. */
export const JSON_BODY_LIMIT = 16 * 1024;

/** Parses a JSON body and checks its shape with zod: 400 for bad JSON or a wrong shape. */
export async function jsonBody<T extends z.ZodType>(ctx: Ctx, schema: T): Promise<z.output<T>> {
  const raw = await ctx.body();
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw fail('invalid_json');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw fail('invalid_request', `${where}${issue.message}`);
  }
  return result.data;
}

export const credentialsSchema = z.object({
  username: z.string({ error: 'expected a string username' }),
  password: z.string({ error: 'expected a string password' }),
});

/** Multipart framing around the image: bounded, so the limit stays meaningful. */
const MULTIPART_OVERHEAD = 64 * 1024;

const isMultipart = (contentType: string) => contentType.toLowerCase().startsWith('multipart/form-data');

export const uploadBodyLimit = (maxBytes: number) => (contentType: string) =>
  isMultipart(contentType) ? maxBytes + MULTIPART_OVERHEAD : maxBytes;

/** A multipart upload is refused as soon as it shows too many parts, before the rest is read. */
export const uploadBodyWatch = (contentType: string): BodyWatch | undefined =>
  isMultipart(contentType) ? multipartPartsWatch(contentType) : undefined;

export interface UploadInput {
  bytes: Buffer;
  label: string | undefined;
}

/**
 * The image of an upload: the raw body (`image/*` or `application/octet-stream`) or the `file`
 * field of a multipart form (with an optional `label` field). Its real type is decided later,
 * from the bytes.
 */
export async function uploadBody(ctx: Ctx, maxBytes: number): Promise<UploadInput> {
  const contentType = ctx.header('content-type');
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const body = await ctx.body();
  if (mediaType === 'multipart/form-data') {
    checkMultipartLimits(body, contentType);
    const parts = uWS.getParts(body, contentType);
    if (!parts) throw fail('invalid_multipart');
    const file = parts.find((p) => p.name === 'file');
    if (!file) throw fail('missing_file');
    if (file.data.byteLength > maxBytes) throw fail('too_large', maxBytes);
    if (file.data.byteLength === 0) throw fail('empty_image', 'file');
    const label = parts.find((p) => p.name === 'label');
    return { bytes: Buffer.from(file.data.slice(0)), label: label && Buffer.from(label.data).toString('utf8') };
  }
  if (!mediaType.startsWith('image/') && mediaType !== 'application/octet-stream') {
    throw fail('unsupported_type', 'Send the image as the body with an image/* Content-Type, or as the "file" field of multipart/form-data.');
  }
  if (body.length === 0) throw fail('empty_image', 'body');
  return { bytes: body, label: undefined };
}
