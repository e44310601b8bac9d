/**
 * The REST side of the input bounds: every body, path parameter and query value a controller takes
 * is walked before the DTO validation runs (a NUL character or an unpaired surrogate in a sign-in
 * name or an `:id` would otherwise reach PostgreSQL and come back as a 500). DTOs add the field
 * rules (formats, exact lengths) on top.
 */
import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { invalid } from '../common/errors';
import { findShapeProblem, type ShapeLimits } from '../common/text';
import { MAX_BODY_DEPTH } from './auth.guard';

const BODY: ShapeLimits = { maxString: () => 4096, maxEntries: 1000, maxDepth: MAX_BODY_DEPTH, maxKey: 128 };
/** Ids, names and numbers in a path or a query: short. */
const PARAM: ShapeLimits = { maxString: () => 256, maxEntries: 16, maxDepth: 2, maxKey: 64 };

@Injectable()
export class TextPipe implements PipeTransform {
  transform(value: unknown, meta: ArgumentMetadata): unknown {
    if (meta.type === 'custom') return value; // values the server made (the signed-in user)
    const where = meta.type === 'body' ? 'body' : `${meta.type === 'param' ? 'path parameter' : 'query'} ${meta.data ?? ''}`.trim();
    const problem = findShapeProblem(value, meta.type === 'body' ? BODY : PARAM, meta.type === 'body' ? '' : meta.data ?? '');
    if (problem) throw invalid(`${where}: ${problem}`);
    return value;
  }
}
