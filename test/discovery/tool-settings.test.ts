import type { ToolSetting } from '../../src/domain/manifest.js';
import { applyToolSettings } from '../../src/discovery/index.js';
import type { UpstreamTool } from '../../src/upstream/index.js';

const schema = { type: 'object', properties: {} };
const upstream: UpstreamTool[] = [
  { name: 'search', description: 'Searches.', inputSchema: schema, annotations: { readOnlyHint: true, openWorldHint: true } },
  { name: 'delete', description: 'Deletes.', inputSchema: schema },
  { name: 'bare', inputSchema: schema },
];

describe('applyToolSettings', () => {
  it.each<[string, ToolSetting[], ReturnType<typeof applyToolSettings>['tools']]>([
    [
      'no settings: upstream as is, all enabled',
      [],
      [
        { name: 'search', description: 'Searches.', upstreamDescription: 'Searches.', inputSchema: schema, annotations: { readOnlyHint: true, openWorldHint: true }, disabled: false },
        { name: 'delete', description: 'Deletes.', upstreamDescription: 'Deletes.', inputSchema: schema, disabled: false },
        { name: 'bare', inputSchema: schema, disabled: false },
      ],
    ],
    [
      'description override keeps the upstream one; disabled; annotations merged with the setting winning',
      [
        { name: 'search', description: 'Search the docs.', disabled: false, annotations: { readOnlyHint: false, destructiveHint: false } },
        { name: 'delete', disabled: true, annotations: { destructiveHint: true } },
        { name: 'bare', description: 'Now described.', disabled: false },
      ],
      [
        {
          name: 'search',
          description: 'Search the docs.',
          upstreamDescription: 'Searches.',
          inputSchema: schema,
          annotations: { readOnlyHint: false, openWorldHint: true, destructiveHint: false },
          disabled: false,
        },
        { name: 'delete', description: 'Deletes.', upstreamDescription: 'Deletes.', inputSchema: schema, annotations: { destructiveHint: true }, disabled: true },
        { name: 'bare', description: 'Now described.', inputSchema: schema, disabled: false },
      ],
    ],
    [
      'an undefined annotation in a setting does not erase the upstream one',
      [{ name: 'search', disabled: false, annotations: { readOnlyHint: undefined } }],
      [
        { name: 'search', description: 'Searches.', upstreamDescription: 'Searches.', inputSchema: schema, annotations: { readOnlyHint: true, openWorldHint: true }, disabled: false },
        { name: 'delete', description: 'Deletes.', upstreamDescription: 'Deletes.', inputSchema: schema, disabled: false },
        { name: 'bare', inputSchema: schema, disabled: false },
      ],
    ],
  ])('%s', (_label, settings, tools) => {
    expect(applyToolSettings(upstream, settings)).toEqual({ tools, unknownSettings: [], unknownDisabled: [] });
  });

  it('reports settings for tools the server does not have, once each, in manifest order', () => {
    const settings: ToolSetting[] = [
      { name: 'gone', disabled: true },
      { name: 'search', disabled: true },
      { name: 'typo_serach', disabled: false },
      { name: 'gone', disabled: false },
    ];
    const { tools, unknownSettings } = applyToolSettings(upstream, settings);
    expect(unknownSettings).toEqual(['gone', 'typo_serach']);
    expect(tools.map((t) => [t.name, t.disabled])).toEqual([
      ['search', true],
      ['delete', false],
      ['bare', false],
    ]);
  });

  it('does not change its inputs', () => {
    const before = JSON.stringify(upstream);
    applyToolSettings(upstream, [{ name: 'search', description: 'x', disabled: true, annotations: { readOnlyHint: false } }]);
    expect(JSON.stringify(upstream)).toBe(before);
  });
});
