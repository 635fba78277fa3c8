import { type ParsedTokenInfo, Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import { AppError } from '../../../platform/errors.js';
import { datasetMalformed, datasetTooLarge } from '../errors.js';
import { LineCounter } from './lines.js';
import { DEFAULT_PARSE_LIMITS, type ParsedRow, type ParseLimits, type RowSource } from './types.js';

const describe = (t: ParsedTokenInfo) =>
  t.token === TokenType.STRING
    ? `string ${JSON.stringify(t.value).slice(0, 40)}`
    : t.token === TokenType.NUMBER
      ? `number ${t.value}`
      : `'${t.value}'`;
const kindOf = (t: ParsedTokenInfo) =>
  t.token === TokenType.STRING ? 'a string' : t.token === TokenType.NUMBER ? 'a number' : `'${t.value}'`;

/** A syntax error where it happened: the tokenizer's byte position, else the last token's. */
class JsonSyntax {
  constructor(
    readonly offset: number,
    readonly what: string,
  ) {}
}

/**
 * A tokenizer and token parser wired together, reporting every token (with its line) first to
 * `onToken`, and every syntax error as a JsonSyntax at a byte offset.
 */
function jsonReader(
  parserOpts: ConstructorParameters<typeof TokenParser>[0],
  lines: LineCounter,
  onToken: (t: ParsedTokenInfo, line: number) => void,
) {
  const tokenizer = new Tokenizer();
  const parser = new TokenParser(parserOpts);
  let lastOffset = 0;
  tokenizer.onToken = (t) => {
    lastOffset = t.offset;
    onToken(t, lines.at(t.offset).line);
    try {
      parser.write(t);
    } catch {
      throw new JsonSyntax(t.offset, `unexpected ${describe(t)}`);
    }
  };
  tokenizer.onError = (err) => {
    // Errors thrown by onToken come back through here too; they already say where.
    if (err instanceof AppError || err instanceof JsonSyntax) throw err;
    const at = /absolute position "(\d+)"/.exec(err.message);
    const ch = /Unexpected "(.*?)"/s.exec(err.message)?.[1];
    throw at
      ? new JsonSyntax(Number(at[1]), `unexpected ${ch === undefined ? 'character' : JSON.stringify(ch)}`)
      : new JsonSyntax(lastOffset, 'the file ends inside a value');
  };
  parser.onError = (err) => {
    throw err;
  };
  return { tokenizer, parser, lastOffset: () => lastOffset };
}

const malformed = (lines: LineCounter, e: JsonSyntax) =>
  datasetMalformed(`JSON syntax error: ${e.what}`, lines.at(e.offset));

/** Where JSON.parse failed on one line of text: its column and what was found there. */
export function locateJsonError(text: Uint8Array): { column: number; what: string } | undefined {
  const lines = new LineCounter();
  lines.feed(text);
  const { tokenizer, parser, lastOffset } = jsonReader({}, lines, () => undefined);
  parser.onValue = () => undefined;
  try {
    tokenizer.write(text);
    tokenizer.end();
    if (!parser.isEnded) throw new JsonSyntax(lastOffset() + 1, 'the line ends inside a value');
  } catch (err) {
    if (err instanceof JsonSyntax) return { column: lines.at(err.offset).column, what: err.what };
  }
  return undefined;
}

/**
 * A JSON array of objects, element by element: @streamparser/json tokenizes the bytes as they come
 * and assembles one element at a time (`$.*` with keepStack off drops each element once emitted), so
 * memory holds the current element, never the document. Its tokens carry byte offsets, which the
 * line counter turns into the line and column a syntax error names.
 */
export async function* parseJsonArray(
  source: RowSource,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): AsyncGenerator<ParsedRow> {
  const lines = new LineCounter();
  const ready: ParsedRow[] = [];
  let depth = 0;
  let element = 0;
  let start = { offset: 0, line: 1 };
  let sawRoot = false;
  const { tokenizer, parser, lastOffset } = jsonReader(
    { paths: ['$.*'], keepStack: false },
    lines,
    (t, line) => {
      if (!sawRoot) {
        sawRoot = true;
        if (t.token !== TokenType.LEFT_BRACKET)
          throw datasetMalformed('a JSON dataset must be an array of objects', lines.at(t.offset));
      } else if (depth === 1 && t.token !== TokenType.COMMA && t.token !== TokenType.RIGHT_BRACKET) {
        element++;
        start = { offset: t.offset, line };
        if (t.token !== TokenType.LEFT_BRACE)
          throw datasetMalformed(`array element ${element} is ${kindOf(t)}, not an object`, {
            line,
            row: element,
          });
      } else if (depth > 1 && t.offset - start.offset > limits.maxRowBytes) {
        throw datasetTooLarge(
          `Array element ${element} (line ${start.line}) is larger than ${limits.maxRowBytes} bytes`,
        );
      }
      if (t.token === TokenType.LEFT_BRACE || t.token === TokenType.LEFT_BRACKET) depth++;
      else if (t.token === TokenType.RIGHT_BRACE || t.token === TokenType.RIGHT_BRACKET) depth--;
    },
  );
  parser.onValue = ({ value }) => {
    ready.push({ line: start.line, cells: Object.entries(value as Record<string, unknown>) });
  };
  try {
    for await (const chunk of source) {
      lines.feed(chunk);
      tokenizer.write(chunk);
      yield* ready.splice(0);
    }
    if (!sawRoot) throw datasetMalformed('the file holds no JSON value');
    tokenizer.end();
    yield* ready.splice(0);
    if (!parser.isEnded) throw new JsonSyntax(lastOffset() + 1, 'the file ends before the array is closed');
  } catch (err) {
    throw err instanceof JsonSyntax ? malformed(lines, err) : err;
  }
}
