// The version of a scope's stored resources (the admission policies' scope): a text that differs after any
// write of one of them. Made of the stored views (src/store/view-renderer.ts), which the store renders again
// at every write of a row (spec, metadata or status, with the row's new resourceVersion) and which it reads
// without decoding anything: a row created, changed or removed changes the text. Read from the store at
// every call, so it counts the writes of every replica sharing the store, not only this process's.
import type { ResourceReader } from '../store/index.js';

const PAGE = 1000;

export async function scopeVersion(store: Pick<ResourceReader, 'listViews'>, tenant: string): Promise<string> {
  const parts: string[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const { views, total } = await store.listViews({ tenant, limit: PAGE, offset });
    parts.push(...views);
    if (views.length === 0 || offset + views.length >= total) return `${total}\n${parts.join('\n')}`;
  }
}
