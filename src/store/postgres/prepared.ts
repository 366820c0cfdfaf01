// Named (prepared) statements: each connection parses and plans one once and then only binds it. The
// write statements (CTEs of several tables) cost about three times as much unnamed, in planning alone.
// A name stands for one text; a text whose shape varies gets a name per shape. Columns are listed, never
// `*`: a prepared plan must keep its result type when a later migration adds a column.
import type pg from 'pg';

export type Prepared = (values?: unknown[]) => pg.QueryConfig;

export function prepared(name: string, text: string): Prepared {
  return (values = []) => ({ name: `mcp_cp_${name}`, text, values });
}
