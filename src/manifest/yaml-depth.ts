// The yaml composer recurses once per nesting level. Deep enough input exhausts the stack, and V8 can
// then abort the whole process (a regexp compiled near the stack limit fails as "out of memory"),
// which no try/catch survives. So the nesting is bounded *before* composing, from the token stream of
// the yaml Lexer, which is iterative.
import { CST, Lexer } from 'yaml';

/**
 * An upper bound of the nesting depth of `text`, or of `stopAbove + 1` once the bound passes it.
 * Every block level needs one more column of indentation or one more indicator (`- `, `? `, `: `) on
 * its line, except a sequence at its parent key's indentation, which still needs its `- `; hence
 * depth ≤ open flow collections + 2 × (indentation + indicators on the line + 1).
 */
export function nestingDepthBound(text: string, stopAbove: number): number {
  let flow = 0;
  let indent = 0;
  let indicators = 0;
  let atLineStart = true;
  let max = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    switch (type) {
      case 'newline':
        atLineStart = true;
        indent = 0;
        indicators = 0;
        continue;
      case 'space':
        if (atLineStart) indent = token.length;
        continue;
      case 'flow-map-start':
      case 'flow-seq-start':
        flow++;
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flow = Math.max(0, flow - 1);
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        if (flow === 0) indicators++;
        break;
      default:
        break;
    }
    atLineStart = false;
    max = Math.max(max, flow + 2 * (indent + indicators + 1));
    if (max > stopAbove) return stopAbove + 1;
  }
  return max;
}
