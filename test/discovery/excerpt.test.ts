import { excerpt } from '../../src/upstream/redaction.js';

describe('excerpt', () => {
  it.each([
    ['plain words stay', 'socket hang up', 'socket hang up'],
    ['a quoted body is cut before the quote', 'Unexpected token \'<\', "<html><b>internal_key</b>"... is not valid JSON', 'Unexpected token …'],
    ['a JSON dump is cut before it', 'Error POSTing to endpoint: {"internal_admin_password_hash":"x"}', 'Error POSTing to endpoint …'],
    ['nothing left', '[{"code":"invalid_union"}]', ''],
    ['control characters become spaces', 'bad\u0000\u0007thing', 'bad thing'],
  ])('%s', (_name, text, expected) => {
    expect(excerpt(text, [])).toBe(expected);
  });

  it('removes secrets and bounds the length', () => {
    expect(excerpt('token s3cr3t-value rejected', ['s3cr3t-value'])).toBe('token [redacted] rejected');
    const long = excerpt('x'.repeat(1000), [], 50);
    expect(long).toHaveLength(50);
    expect(long.endsWith('…')).toBe(true);
  });
});
