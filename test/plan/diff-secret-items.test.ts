// A list added or removed whole is walked item by item when its items hold secrets, so a secret never
// rides inside the list's value (a virtual server's servers[].auth_data.headers).
import { diffDocuments } from '../../src/plan/diff.js';

const isSecret = (pointer: string) => /^\/servers\/\d+\/auth_data\/headers\/[^/]+$/.test(pointer);

it('walks the items of an added list that hold secrets', () => {
  const servers = [{ name: 'wiki', auth_data: { type: 'header', headers: { Authorization: 'Bearer s3cret' } } }, { name: 'plain' }];
  const ops = diffDocuments({}, { servers }, { isSecret });
  expect(JSON.stringify(ops)).not.toContain('s3cret');
  expect(ops).toContainEqual({ op: 'add', path: '/servers/0/auth_data/headers/Authorization', secret: true });
  expect(ops).toContainEqual({ op: 'add', path: '/servers/1', to: { name: 'plain' } });
});

it('walks the items of a removed list that hold secrets', () => {
  const servers = [{ name: 'wiki', auth_data: { type: 'header', headers: { Authorization: 'Bearer s3cret' } } }];
  const ops = diffDocuments({ servers }, {}, { isSecret });
  expect(JSON.stringify(ops)).not.toContain('s3cret');
  expect(ops).toContainEqual({ op: 'remove', path: '/servers/0/auth_data/headers/Authorization', secret: true });
});

it('adds a list without secrets in one op', () => {
  expect(diffDocuments({}, { servers: [{ name: 'a' }] }, { isSecret })).toEqual([{ op: 'add', path: '/servers', to: [{ name: 'a' }] }]);
});
