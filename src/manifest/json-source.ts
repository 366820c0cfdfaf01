// JSON text → value, with the offset of every member (for line:col in errors) and errors that never
// quote the input (JSON.parse's messages can echo a slice of it, secrets included, and differ across
// Node versions). Duplicate keys and keys JavaScript treats specially (__proto__, constructor,
// prototype) are errors, as in YAML input.
import { RESERVED_KEYS, appendPointer, setOwn } from './pointer.js';

export interface JsonIssue {
  offset: number;
  /** JSON pointer of the member the issue is about ("" when the text is not JSON at all). */
  path: string;
  message: string;
}

export interface JsonSource {
  /** Undefined when `issues` is not empty. */
  value: unknown;
  issues: JsonIssue[];
  /** Pointer → offset of the member's key (of the item, for arrays; 0-based). */
  offsets: Map<string, number>;
}

/** Same limit as YAML input (parse.ts MAX_DEPTH). */
export const MAX_JSON_DEPTH = 256;

class SyntaxProblem extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const VALUE_EXPECTED = 'expected a JSON value (object, array, string, number, true, false or null)';

export function parseJsonSource(text: string): JsonSource {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const issues: JsonIssue[] = [];
  const offsets = new Map<string, number>();

  const skipWhitespace = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return;
      i++;
    }
  };

  const expect = (char: string, message: string): void => {
    skipWhitespace();
    if (text[i] !== char) throw new SyntaxProblem(i, message + (i >= text.length ? ', found the end of the input' : ''));
    i++;
  };

  const parseString = (): string => {
    const start = i;
    i++; // opening quote
    for (;;) {
      if (i >= text.length) throw new SyntaxProblem(start, 'unterminated string: a closing " is missing');
      const code = text.charCodeAt(i);
      if (code === 0x22) break;
      if (code < 0x20) throw new SyntaxProblem(i, 'control character in a string: write it as an escape such as \\n or \\t');
      if (code === 0x5c) {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new SyntaxProblem(i, 'invalid \\u escape: 4 hex digits must follow');
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) {
          throw new SyntaxProblem(i, 'invalid escape in a string: use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX');
        }
        i += 2;
        continue;
      }
      i++;
    }
    i++; // closing quote
    return JSON.parse(text.slice(start, i)) as string;
  };

  const parseObject = (pointer: string, depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    i++; // {
    skipWhitespace();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      skipWhitespace();
      if (text[i] !== '"') throw new SyntaxProblem(i, 'expected a member name in double quotes');
      const keyOffset = i;
      const key = parseString();
      const childPointer = appendPointer(pointer, key);
      expect(':', "expected ':' after the member name");
      if (!offsets.has(childPointer)) offsets.set(childPointer, keyOffset);
      const value = parseValue(childPointer, depth + 1);
      if (RESERVED_KEYS.has(key)) {
        issues.push({ offset: keyOffset, path: childPointer, message: `the key ${JSON.stringify(key)} is not allowed (reserved in JavaScript)` });
      } else if (seen.has(key)) {
        issues.push({ offset: keyOffset, path: childPointer, message: `duplicate key ${JSON.stringify(key)}: each key may appear once in an object` });
      } else {
        seen.add(key);
        setOwn(out, key, value);
      }
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw new SyntaxProblem(i, `expected ',' or '}' after an object member${i >= text.length ? ', found the end of the input' : ''}`);
    }
  };

  const parseArray = (pointer: string, depth: number): unknown[] => {
    const out: unknown[] = [];
    i++; // [
    skipWhitespace();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      skipWhitespace();
      const childPointer = appendPointer(pointer, out.length);
      offsets.set(childPointer, i);
      out.push(parseValue(childPointer, depth + 1));
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return out;
      }
      throw new SyntaxProblem(i, `expected ',' or ']' after an array item${i >= text.length ? ', found the end of the input' : ''}`);
    }
  };

  const parseValue = (pointer: string, depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) throw new SyntaxProblem(i, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    skipWhitespace();
    if (!offsets.has(pointer)) offsets.set(pointer, i);
    const c = text[i];
    if (c === '{') return parseObject(pointer, depth);
    if (c === '[') return parseArray(pointer, depth);
    if (c === '"') return parseString();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    throw new SyntaxProblem(i, i >= text.length ? `${VALUE_EXPECTED}, found the end of the input` : VALUE_EXPECTED);
  };

  try {
    const value = parseValue('', 0);
    skipWhitespace();
    if (i < text.length) throw new SyntaxProblem(i, 'unexpected text after the JSON value (one JSON document per input)');
    return issues.length > 0 ? { value: undefined, issues, offsets } : { value, issues, offsets };
  } catch (err) {
    if (!(err instanceof SyntaxProblem)) throw err;
    return { value: undefined, issues: [...issues, { offset: err.offset, path: '', message: `invalid JSON: ${err.message}` }], offsets };
  }
}
