import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'vitest';

/**
 * Validates bodies against OpenAI's published OpenAPI 3.1 document
 * (/work/shared/reference/openai-openapi.json, components.schemas) with a JSON Schema 2020-12
 * validator, so Polar's /v1 answers are checked against OpenAI's own description, not ours.
 *
 * Two adjustments, both about the document rather than the shapes:
 * - It still uses OpenAPI 3.0's `nullable: true` in places (e.g. a stream chunk's finish_reason and
 *   usage); JSON Schema 2020-12 has no such keyword, so each is rewritten to `anyOf [..., null]`,
 *   which is what it means.
 * - Its OpenAI-specific formats (unixtime, float, double, int64, binary) are accepted as given; the
 *   `type` next to them is still checked.
 */
export const OPENAI_OPENAPI =
  process.env.POLAR_OPENAI_OPENAPI ?? '/work/shared/reference/openai-openapi.json';

type Json = unknown;

function withoutNullable(node: Json): Json {
  if (Array.isArray(node)) return node.map(withoutNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'nullable') out[k] = withoutNullable(v);
  return (node as { nullable?: unknown }).nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

// ajv-formats is CommonJS: under Node's ESM the plugin is its `default` property.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

function validator(name: string): ValidateFunction {
  if (!ajv) {
    const doc = JSON.parse(readFileSync(OPENAI_OPENAPI, 'utf8')) as { components: { schemas: Json } };
    // strict: false because the document carries annotations ajv does not know (x-oaiMeta, discriminator, …).
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const f of ['unixtime', 'float', 'double', 'int64', 'binary']) ajv.addFormat(f, true);
    ajv.addSchema({ $id: 'openai', components: { schemas: withoutNullable(doc.components.schemas) } });
  }
  let v = compiled.get(name);
  if (!v) {
    v = ajv.getSchema(`openai#/components/schemas/${name}`);
    if (!v) throw new Error(`OpenAI's document has no schema ${name}`);
    compiled.set(name, v);
  }
  return v;
}

export type OpenAISchema =
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'CreateCompletionResponse'
  | 'CreateEmbeddingResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'ErrorResponse'
  | (string & {});

/** The validation errors of `body` against OpenAI's schema `name`, as readable lines ([] when valid). */
export function openaiSchemaErrors(name: OpenAISchema, body: unknown): string[] {
  const v = validator(name);
  if (v(body)) return [];
  return (v.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'} (${e.schemaPath})`,
  );
}

/** Throws, with every error and the body, unless `body` matches OpenAI's schema `name`. */
export function assertOpenAIShape(name: OpenAISchema, body: unknown): void {
  const errors = openaiSchemaErrors(name, body);
  if (errors.length > 0)
    throw new Error(
      `not a valid ${name}:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body).slice(0, 2000)}`,
    );
}

interface Answer {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
}

/** A 200 whose JSON body is a valid `schema`; answers the body. */
export function expectOpenAIBody(res: Answer, schema: OpenAISchema) {
  expect(res.statusCode, res.body).toBe(200);
  const body = JSON.parse(res.body);
  assertOpenAIShape(schema, body);
  return body;
}

/** An error in OpenAI's ErrorResponse shape (never problem+json) with this status, type and code. */
export function expectOpenAIError(
  res: Answer,
  status: number,
  expected: { type: string; code: string; param?: string | null },
) {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body);
  assertOpenAIShape('ErrorResponse', body);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ type: expected.type, code: expected.code });
  if (expected.param !== undefined) expect(body.error.param).toBe(expected.param);
  expect(body.error.message.length).toBeGreaterThan(5);
  return body.error as { message: string; type: string; param: string | null; code: string };
}

/** The `data:` payloads of a server-sent event stream, parsed; `[DONE]` stays a string. */
export function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      expect(block, 'every event is one data line').toMatch(/^data: [^\n]*$/);
      const data = block.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}
