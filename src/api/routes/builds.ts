// Builds and packages: upload (streamed), status, the signed envelope, the .fota file.
import { z } from 'zod';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { buildViewSchema, uploadQuerySchema, uploadResultSchema } from '../../builds/schemas.ts';
import { decodeStatementHeader, TARGET_STATEMENT_HEADER } from '../../builds/statement-header.ts';
import { uploadBuild } from '../../builds/upload.ts';
import { buildView, packageRow } from '../../builds/view.ts';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { nodeRequest } from '../../http/node-request.ts';
import { envelopeSchema } from '../../signing/envelope.ts';
import { findBuild } from '../../store/queries/builds.ts';
import type { Principal } from '../../tokens/tokens.ts';
import { assertOwnManufacturer } from '../auth.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, answer, defineRoute, pathParams, refusal } from '../spec.ts';

const uploadHeadersSchema = z.object({
  [TARGET_STATEMENT_HEADER]: z.string().optional().describe("base64url of the manufacturer's signed target statement (fota build sign); required when the manufacturer requires offline signing"),
});

export const uploadRoute = defineRoute({
  method: 'post',
  path: '/api/v1/builds',
  roles: ['manufacturer'],
  summary: 'Upload a firmware image (raw body, streamed); queues its packages',
  request: {
    query: uploadQuerySchema,
    headers: uploadHeadersSchema,
    // A plain JSON Schema, not a zod one: the document shows the body, and no validator
    // reads it, so the image streams to the store instead of being buffered here.
    body: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
  },
  responses: {
    202: answer('stored; packages are being made', uploadResultSchema),
    409: refusal('this model already has that version'),
    413: refusal('empty body or over the size limit'),
    422: refusal('no valid target statement where the manufacturer requires offline signing, or one that does not match the image'),
  },
});

export const getBuildRoute = defineRoute({
  method: 'get',
  path: '/api/v1/builds/{id}',
  roles: ANY_ROLE,
  summary: 'A build, its status and its packages',
  request: { params: pathParams('id') },
  responses: { 200: answer('the build', buildViewSchema), 404: refusal('no such build') },
});

export const getPackageRoute = defineRoute({
  method: 'get',
  path: '/api/v1/packages/{id}',
  roles: ANY_ROLE,
  summary: 'The signed envelope of a package',
  request: { params: pathParams('id') },
  responses: { 200: answer('{signed: manifest, signatures: [{keyid, sig}]}', envelopeSchema), 404: refusal('no such package') },
});

export const getPackageFileRoute = defineRoute({
  method: 'get',
  path: '/api/v1/packages/{id}/file',
  roles: ANY_ROLE,
  summary: 'The .fota single file of a package',
  request: { params: pathParams('id') },
  responses: {
    200: { description: 'the .fota file', content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
    404: refusal('no such package'),
  },
});

export const buildRoutes: RouteModule = (r) => {
  r(uploadRoute, async (c, ctx) => {
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > ctx.config.maxUploadBytes) {
      throw new AppError('TOO_LARGE', `the image is ${declared} bytes; the limit is ${ctx.config.maxUploadBytes} (FOTA_MAX_UPLOAD_BYTES)`);
    }
    if (declared === 0) throw new AppError('TOO_LARGE', 'the upload is empty; send the image as the request body');
    // Under the Node server, Node's request itself: a web stream in between (and a
    // Readable over that) cost several promises per 64 KiB chunk, a large part of an
    // upload's CPU. Without one (app.request in tests), the web Request's body.
    const incoming = nodeRequest(c.env);
    const raw = incoming ? undefined : c.req.raw.body;
    if (!incoming && !raw) throw new AppError('TOO_LARGE', 'the upload is empty; send the image as the request body');
    const body = incoming ?? Readable.fromWeb(raw as unknown as WebReadableStream<Uint8Array>);
    const statementHeader = c.req.header(TARGET_STATEMENT_HEADER);
    const statement = statementHeader === undefined ? undefined : decodeStatementHeader(statementHeader);
    const result = await uploadBuild(ctx, c.get('principal'), c.req.valid('query'), body, undefined, statement);
    return c.json(result, 202);
  });

  r(getBuildRoute, async (c, ctx) => {
    const { id } = c.req.valid('param');
    await assertBuildVisible(ctx, c.get('principal'), id);
    return c.json(await buildView(ctx, id), 200);
  });

  r(getPackageRoute, async (c, ctx) => {
    const row = await packageRow(ctx, c.req.valid('param').id);
    await assertBuildVisible(ctx, c.get('principal'), row.buildId);
    // Stored with JSON.stringify, so this serves the same bytes; the signatures cover the
    // canonical form of `signed` whatever the spelling.
    return c.json(envelopeSchema.parse(JSON.parse(row.envelope)), 200);
  });

  r(getPackageFileRoute, async (c, ctx) => {
    const row = await packageRow(ctx, c.req.valid('param').id);
    await assertBuildVisible(ctx, c.get('principal'), row.buildId);
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

/** Node's request, when @hono/node-server serves the app (its `env.incoming`). */
/** Manufacturer tokens see only their own builds and packages; other roles see all. */
async function assertBuildVisible(ctx: Context, principal: Principal, buildId: string): Promise<void> {
  const build = await findBuild(ctx.db, buildId);
  if (!build) throw new AppError('NOT_FOUND', `no build ${buildId}`);
  assertOwnManufacturer(principal, build.manufacturerId);
}
