import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

/**
 * Where and why `text` (already known not to be valid JSON) fails to parse, as "line L,
 * column C: <what>". JSON.parse only gives a character offset, which nobody can find in an
 * editor; jsonc-parser reports each error with its offset, turned here into a line and column
 * (1-based, columns in UTF-16 code units like most editors). Comments and trailing commas are
 * refused as in JSON itself.
 */
export function describeJsonSyntaxError(text: string, parseError?: Error): string | undefined {
  const errors: ParseError[] = [];
  try {
    parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  } catch (error) {
    // jsonc-parser recurses per nesting level: 200,000 open brackets overflow the stack
    if (!(error instanceof RangeError)) throw error;
    return fromParseMessage(text, parseError);
  }
  const first = errors[0];
  if (!first) return fromParseMessage(text, parseError);
  return `${lineAndColumn(text, first.offset)}: ${readable(printParseErrorCode(first.error))}${first.offset < text.length ? ` near ${JSON.stringify(text.slice(first.offset, first.offset + Math.max(1, Math.min(first.length, 20))))}` : ' at the end of the file'}`;
}

/** JSON.parse's own reason, with its "position N" (or the end of the text) as a line and column. */
function fromParseMessage(text: string, parseError: Error | undefined): string | undefined {
  if (!parseError) return undefined;
  const position = /position (\d+)/.exec(parseError.message);
  const offset = position ? Number(position[1]) : text.length;
  return `${lineAndColumn(text, offset)}: ${parseError.message.replace(/,? (in JSON )?at position \d+.*$/, '')}`;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - (before.lastIndexOf('\n') + 1) + 1}`;
}

/** "CommaExpected" → "comma expected". */
function readable(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
