// `--import` this in a worker thread that runs TypeScript sources: registers ts-worker-hooks.mjs.
import { register } from 'node:module';

register(new URL('./ts-worker-hooks.mjs', import.meta.url));
