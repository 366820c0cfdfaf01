import Database from 'better-sqlite3';
import { watch } from 'chokidar';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { serverFqn } from '../../src/domain/resource.js';

it('loads', () => {
  expect(typeof watch).toBe('function');
  expect(new Database(':memory:').prepare('select 1 as x').get()).toEqual({ x: 1 });
  expect(typeof Client).toBe('function');
  expect(typeof McpServer).toBe('function');
  expect(serverFqn('a', 'b')).toBe('a:mcp-server:b');
});
