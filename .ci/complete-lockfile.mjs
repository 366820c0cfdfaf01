// The npm registry reachable here serves only the packages of this platform, so `npm install` writes a
// lock without the other platforms' optional native bindings (e.g. @swc/core-darwin-arm64), and
// `npm ci` then refuses the lock as out of sync. This adds, for each optional dependency the lock
// names but does not hold, an entry with the os/cpu/libc its name encodes: npm skips it on every
// platform it does not match, without fetching it. Run after `npm install`: node .ci/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd', 'wasm32'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p)) ?? (parts.includes('wasi') ? 'wasm32' : undefined);
  const libc = parts.some((p) => p.startsWith('musl')) ? 'musl' : parts.some((p) => p === 'gnu' || p.startsWith('gnueabi')) ? 'glibc' : undefined;
  return { os, cpu, libc };
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = key === '' ? '' : `${key}/`;
    if (lock.packages[`${base}node_modules/${dep}`] || lock.packages[`node_modules/${dep}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os && !cpu) continue;
    const stub = { version: range.replace(/^[\^~=]/, ''), optional: true };
    if (cpu) stub.cpu = [cpu];
    if (os && os !== 'wasm32') stub.os = [os];
    if (libc) stub.libc = [libc];
    lock.packages[`node_modules/${dep}`] = stub;
    added++;
  }
}
// The order npm itself writes (localeCompare, 'en'), so that a later `npm install` leaves the file as it is.
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} off-platform optional entries`);
