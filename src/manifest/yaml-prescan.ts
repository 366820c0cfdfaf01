// What the yaml composer must never be handed, found first in one pass of the yaml Lexer (iterative,
// linear in the text). The composer recurses once per nesting level: deep enough input exhausts the
// stack, and V8 can then abort the whole process (a regexp compiled near the stack limit fails as "out
// of memory"), which no try/catch survives. And anchors, aliases and keys must be few enough that
// whatever the composer and toJS do per alias (each resolution scans the document's anchors) stays small.
import { CST, Lexer } from 'yaml';

export interface PrescanLimits {
  /** Bound on the nesting depth bound (see below); well below where the composer exhausts the stack. */
  depthBound: number;
  /** Mapping keys per document (counted from above: each block `:` and `?`, each entry of a flow mapping). */
  keys: number;
  /** Anchors (`&name`) per document. */
  anchors: number;
  /** Aliases (`*name`) per document. */
  aliases: number;
}

export interface PrescanProblem {
  limit: keyof PrescanLimits;
  /** Offset in the text of the token that went over the limit. */
  offset: number;
}

/** Lexer tokens that mark a state and are not text of the source. */
const MARKERS = new Set(['\x02', '\x18', '\x1f']);

/**
 * The first limit the text goes over, or undefined. Nesting: every block level needs one more column
 * of indentation or one more indicator (`- `, `? `, `: `) on its line, except a sequence at its parent
 * key's indentation, which still needs its `- `; hence depth ≤ open flow collections + 2 × (indentation
 * + indicators on the line + 1), the bound checked. Counts start again at each `---` and `...`.
 */
export function prescanYaml(text: string, limits: PrescanLimits): PrescanProblem | undefined {
  const flow: ('map' | 'seq')[] = [];
  let indent = 0;
  let indicators = 0;
  let atLineStart = true;
  let keys = 0;
  let anchors = 0;
  let aliases = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const at = offset;
    if (!MARKERS.has(token)) offset += token.length;
    switch (CST.tokenType(token)) {
      case 'newline':
        atLineStart = true;
        indent = 0;
        indicators = 0;
        continue;
      case 'space':
        if (atLineStart) indent = token.length;
        continue;
      case 'doc-start':
      case 'doc-end':
        keys = anchors = aliases = 0;
        break;
      case 'flow-map-start':
        flow.push('map');
        if (++keys > limits.keys) return { limit: 'keys', offset: at };
        break;
      case 'flow-seq-start':
        flow.push('seq');
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flow.pop();
        break;
      case 'comma':
        if (flow[flow.length - 1] === 'map' && ++keys > limits.keys) return { limit: 'keys', offset: at };
        break;
      case 'seq-item-ind':
        if (flow.length === 0) indicators++;
        break;
      case 'explicit-key-ind':
      case 'map-value-ind':
        if (flow.length === 0) indicators++;
        // A flow mapping's entries are counted at its `{` and commas.
        if (flow[flow.length - 1] !== 'map' && ++keys > limits.keys) return { limit: 'keys', offset: at };
        break;
      case 'anchor':
        if (++anchors > limits.anchors) return { limit: 'anchors', offset: at };
        break;
      case 'alias':
        if (++aliases > limits.aliases) return { limit: 'aliases', offset: at };
        break;
      default:
        break;
    }
    atLineStart = false;
    if (flow.length + 2 * (indent + indicators + 1) > limits.depthBound) return { limit: 'depthBound', offset: at };
  }
  return undefined;
}
