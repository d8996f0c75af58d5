import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

/**
 * Where and why `text` (already known not to be valid JSON) fails to parse, as "line L,
 * column C: <what>". JSON.parse only gives a character offset, which nobody can find in an
 * editor; jsonc-parser reports each error with its offset, turned here into a line and column
 * (1-based, columns in UTF-16 code units like most editors). Comments and trailing commas are
 * refused as in JSON itself.
 */
export function describeJsonSyntaxError(text: string): string | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - (before.lastIndexOf('\n') + 1) + 1;
  const found = first.offset < text.length ? ` near ${JSON.stringify(text.slice(first.offset, first.offset + Math.max(1, Math.min(first.length, 20))))}` : ' at the end of the file';
  return `line ${line}, column ${column}: ${readable(printParseErrorCode(first.error))}${found}`;
}

/** "CommaExpected" → "comma expected". */
function readable(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
