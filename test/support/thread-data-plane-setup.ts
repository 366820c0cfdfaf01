// The jest project `thread` (jest.config.js): runs its test files with their control planes' data plane on
// its thread (MCP_CP_TEST_DATA_PLANE=thread, see control-plane.ts), as `serve` runs it. Jest gives each
// test file its own process.env, so this stays in the file.
import { TEST_DATA_PLANE_VARIABLE } from './control-plane.js';

process.env[TEST_DATA_PLANE_VARIABLE] = 'thread';
