// Tagging a device (operator work): add and remove tags in one audited step.
import { changeTags, changeTagsSchema, tagsAnswerSchema } from '../../devices/tags.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const changeTagsRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/tags',
  roles: ['operator'],
  summary: 'Add and remove tags of a device ({add?: [...], remove?: [...]}); answers the tags after',
  request: { params: pathParams('id'), body: jsonBody(changeTagsSchema) },
  responses: { 200: answer("the device's tags", tagsAnswerSchema), 404: refusal('no such device') },
});

export const deviceTagRoutes: RouteModule = (r) => {
  r(changeTagsRoute, async (c, ctx) => c.json(await changeTags(ctx, c.get('principal'), c.req.valid('param').id, c.req.valid('json')), 200));
};
