// Internal tokens are accepted once: a replayed token is refused for as long as it is valid, and the
// memory of accepted tokens stays bounded (full of unexpired ids, it refuses until some expire).
import { randomBytes } from 'node:crypto';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { FakeClock } from '../support/fake-clock.js';

const claims = { action: 'refresh', target: 'default:mcp-server:x', from: 'follower' };

describe('InternalTokens: one use per token', () => {
  it('a token is accepted once; a replay is refused, and an expired one too', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const key = randomBytes(32);
    const leader = new InternalTokens(key, clock);
    const follower = new InternalTokens(key, clock);
    const token = await follower.sign('leader', claims);
    expect(await leader.verify(token, 'leader')).toEqual(claims);
    expect(await leader.verify(token, 'leader')).toBeUndefined();
    // Two tokens for the same work are two uses.
    const again = await follower.sign('leader', claims);
    expect(again).not.toBe(token);
    expect(await leader.verify(again, 'leader')).toEqual(claims);
    const late = await follower.sign('leader', claims);
    clock.advance(61_000);
    expect(await leader.verify(late, 'leader')).toBeUndefined();
  });

  it('carries the admitted principal; refuses a token without a jti', async () => {
    const key = randomBytes(32);
    const tokens = new InternalTokens(key);
    const principal = adminPrincipal('default');
    expect((await tokens.verify(await tokens.sign('owner', { ...claims, action: 'mcp-session', principal }), 'owner'))?.principal).toEqual(principal);
    const { SignJWT } = await import('jose');
    const { deriveKey } = await import('../../src/store/secret-codec.js');
    const now = Math.floor(Date.now() / 1000);
    const noJti = await new SignJWT({ act: 'refresh', tgt: claims.target })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('mcp-control-plane/cluster')
      .setSubject('follower')
      .setAudience('owner')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(deriveKey(key, 'cluster-internal-token'));
    expect(await tokens.verify(noJti, 'owner')).toBeUndefined();
  });

  it('remembers at most maxRemembered unexpired tokens: beyond that it refuses until they expire', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const key = randomBytes(32);
    const leader = new InternalTokens(key, clock, { maxRemembered: 2 });
    const sign = () => new InternalTokens(key, clock).sign('leader', claims);
    expect(await leader.verify(await sign(), 'leader')).toBeDefined();
    expect(await leader.verify(await sign(), 'leader')).toBeDefined();
    const third = await sign();
    expect(await leader.verify(third, 'leader')).toBeUndefined();
    clock.advance(61_000);
    expect(await leader.verify(await sign(), 'leader')).toBeDefined();
  });
});
