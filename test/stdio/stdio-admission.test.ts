// The one stdio admission rule (stdioRefusal), as every door and the reconciler ask it.
import { StdioPolicy, stdioRefusal } from '../../src/stdio/stdio-policy.js';

describe('stdioRefusal', () => {
  it('refuses every command when there is no policy, in the words of a policy without --allow-stdio', () => {
    const off = new StdioPolicy({ enabled: false, allow: ['/usr/bin/node'] });
    expect(stdioRefusal(undefined, '/usr/bin/node')).toContain('--allow-stdio');
    expect(stdioRefusal(undefined, '/usr/bin/node')).toBe(stdioRefusal(off, '/usr/bin/node'));
  });

  it('admits exactly the listed commands when stdio is on', () => {
    const on = new StdioPolicy({ enabled: true, allow: ['/usr/bin/node', 'node'] });
    expect(stdioRefusal(on, '/usr/bin/node')).toBeUndefined();
    expect(stdioRefusal(on, 'node')).toBeUndefined();
    expect(stdioRefusal(on, '/tmp/node')).toContain(`"/tmp/node" is not on the control plane's --stdio-allow list`);
    expect(stdioRefusal(on, 'python')).toContain('--stdio-allow');
  });
});
