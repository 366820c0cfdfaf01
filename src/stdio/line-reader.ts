// Splits a process's output into lines as the bytes arrive, each line at most `maxLineBytes`: linear in
// the bytes (each is scanned once, a line is joined once when its newline comes) and bounded in memory
// (a line past the cap throws LineTooLongError before its bytes are kept).

export class LineTooLongError extends Error {
  constructor(readonly limitBytes: number) {
    super(`wrote a line longer than ${limitBytes} bytes`);
    this.name = 'LineTooLongError';
  }
}

const LF = 0x0a;

export class LineReader {
  private pieces: Buffer[] = [];
  private length = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Feeds the next bytes; each complete line (without its LF or CRLF) goes to onLine. Throws LineTooLongError. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.length + (end - start) > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      if (end > start) {
        this.pieces.push(chunk.subarray(start, end));
        this.length += end - start;
      }
      if (nl === -1) return;
      const line = (this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.length)).toString('utf8');
      this.pieces = [];
      this.length = 0;
      start = nl + 1;
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }
}
