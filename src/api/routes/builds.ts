// Builds and packages: upload (streamed), status, the signed envelope, the .fota file.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { buildViewSchema, uploadQuerySchema } from '../../builds/schemas.ts';
import { uploadBuild } from '../../builds/upload.ts';
import { buildView, packageRow } from '../../builds/view.ts';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { findBuild } from '../../store/queries/builds.ts';
import type { Principal } from '../../tokens/tokens.ts';
import { assertOwnManufacturer } from '../auth.ts';
import { errorBodySchema, parseInput } from '../http-errors.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, defineRoute } from '../spec.ts';

export const uploadSpec = defineRoute({
  method: 'post',
  path: '/api/v1/builds',
  roles: ['manufacturer'],
  summary: 'Upload a firmware image (raw body, streamed); queues its packages',
  query: uploadQuerySchema,
  body: 'binary',
  responses: {
    202: { description: 'stored; packages are being made', schema: z.object({ id: z.string(), status: z.literal('processing'), jobs: z.number() }) },
    409: { description: 'this model already has that version', schema: errorBodySchema },
    413: { description: 'empty body or over the size limit', schema: errorBodySchema },
  },
});

export const getBuildSpec = defineRoute({
  method: 'get',
  path: '/api/v1/builds/:id',
  roles: ANY_ROLE,
  summary: 'A build, its status and its packages',
  responses: { 200: { description: 'the build', schema: buildViewSchema }, 404: { description: 'no such build', schema: errorBodySchema } },
});

export const getPackageSpec = defineRoute({
  method: 'get',
  path: '/api/v1/packages/:id',
  roles: ANY_ROLE,
  summary: 'The signed envelope of a package',
  responses: {
    200: { description: '{signed: manifest, signatures: [{keyid, sig}]}', schema: z.object({ signed: z.record(z.string(), z.unknown()), signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })) }) },
    404: { description: 'no such package', schema: errorBodySchema },
  },
});

export const getPackageFileSpec = defineRoute({
  method: 'get',
  path: '/api/v1/packages/:id/file',
  roles: ANY_ROLE,
  summary: 'The .fota single file of a package',
  responses: { 200: { description: 'the .fota file', contentType: 'application/octet-stream' }, 404: { description: 'no such package', schema: errorBodySchema } },
});

export const buildRoutes: RouteModule = (r) => {
  r(uploadSpec, async (c, ctx) => {
    const query = parseInput(uploadQuerySchema, c.req.query(), 'query');
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > ctx.config.maxUploadBytes) {
      throw new AppError('TOO_LARGE', `the image is ${declared} bytes; the limit is ${ctx.config.maxUploadBytes} (FOTA_MAX_UPLOAD_BYTES)`);
    }
    const raw = c.req.raw.body;
    if (!raw || declared === 0) throw new AppError('TOO_LARGE', 'the upload is empty; send the image as the request body');
    const body = Readable.fromWeb(raw as unknown as WebReadableStream<Uint8Array>);
    const result = await uploadBuild(ctx, c.get('principal'), query, body);
    return c.json(result, 202);
  });

  r(getBuildSpec, (c, ctx) => {
    const id = c.req.param('id') ?? '';
    assertBuildVisible(ctx, c.get('principal'), id);
    return c.json(buildView(ctx, id));
  });

  r(getPackageSpec, (c, ctx) => {
    const row = packageRow(ctx, c.req.param('id') ?? '');
    assertBuildVisible(ctx, c.get('principal'), row.buildId);
    return c.body(row.envelope, 200, { 'content-type': 'application/json' });
  });

  r(getPackageFileSpec, async (c, ctx) => {
    const row = packageRow(ctx, c.req.param('id') ?? '');
    assertBuildVisible(ctx, c.get('principal'), row.buildId);
    const stream = await ctx.artifacts.get(row.fileSha256);
    const name = `${row.fromVersion ? `${row.fromVersion}-to-` : 'full-'}${row.toVersion}.fota`;
    return new Response(Readable.toWeb(stream) as unknown as ReadableStream, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(row.fileSize),
        'content-disposition': `attachment; filename="${name}"`,
        etag: `"${row.fileSha256}"`,
      },
    });
  });
};

/** Manufacturer tokens see only their own builds and packages; other roles see all. */
function assertBuildVisible(ctx: Context, principal: Principal, buildId: string): void {
  const build = findBuild(ctx.db, buildId);
  if (!build) throw new AppError('NOT_FOUND', `no build ${buildId}`);
  assertOwnManufacturer(principal, build.manufacturerId);
}
