import { applyToolSettings, closestToolNames } from '../../src/discovery/index.js';
import type { UpstreamTool } from '../../src/upstream/index.js';

const schema = { type: 'object', properties: {} };
const tools = (...names: string[]): UpstreamTool[] => names.map((name) => ({ name, inputSchema: schema }));

describe('disabled: true for a tool the server does not have', () => {
  it('is reported apart from other unknown settings (the last setting of a name decides)', () => {
    const applied = applyToolSettings(tools('echo', 'delete_everything'), [
      { name: 'delete_everythng', disabled: true },
      { name: 'ecoh', description: 'only a description', disabled: false },
      { name: 'flip', disabled: true },
      { name: 'flip', disabled: false },
    ]);
    expect(applied.unknownSettings).toEqual(['delete_everythng', 'ecoh', 'flip']);
    expect(applied.unknownDisabled).toEqual(['delete_everythng']);
    expect(applied.tools.every((t) => !t.disabled)).toBe(true);
  });
});

describe('closestToolNames', () => {
  const names = ['echo', 'add', 'delete_everything', 'delete_nothing', 'list_files'];
  it.each([
    ['delete_everythng', ['delete_everything']],
    ['Delete_Everything', ['delete_everything']],
    ['ecoh', ['echo']],
    ['completely_unrelated', []],
    ['x'.repeat(200), []],
  ])('%s → %j', (name, expected) => {
    expect(closestToolNames(name, names)).toEqual(expected);
  });
  it('answers at most max names, closest first', () => {
    expect(closestToolNames('tool_1', ['tool_12', 'tool_1x', 'tool_2', 'tool_13', 'tool_3'], 2)).toEqual(['tool_12', 'tool_1x']);
  });
});
