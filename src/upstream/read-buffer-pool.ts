// The read buffers the reused-read dispatcher's sockets borrow while a request is on them: one
// process-wide free list, bounded. A socket with a request lends a buffer and reads into it until the
// socket goes idle; an idle socket reads into a small buffer of its own (a read on an idle socket is a
// close or a protocol error). Contract for borrowers: a buffer is given back only when the socket will not
// read into it again and no view of it is still lent to a consumer; one that may still be referenced is
// forgotten instead (the collector frees it once the last view goes).
export interface ReadBufferStats {
  /** Buffers out with a socket. */
  lent: number;
  /** Buffers on the free list. */
  free: number;
  /** Buffers made since the process started. */
  made: number;
}

export class ReadBufferPool {
  private readonly freeList: Buffer[] = [];
  private out = 0;
  private made = 0;

  constructor(
    readonly bytes: number,
    /** The most buffers kept on the free list; more given back are dropped. */
    private readonly keep: number,
  ) {}

  lend(): Buffer {
    this.out++;
    const buffer = this.freeList.pop();
    if (buffer) return buffer;
    this.made++;
    return Buffer.allocUnsafeSlow(this.bytes);
  }

  /** The borrower is done with `buffer`: nothing reads into it and no view of it is held. */
  giveBack(buffer: Buffer): void {
    this.out--;
    if (this.freeList.length < this.keep) this.freeList.push(buffer);
  }

  /** The borrower is done reading into `buffer`, but a view of it may still be held: it is not reused. */
  forget(): void {
    this.out--;
  }

  stats(): ReadBufferStats {
    return { lent: this.out, free: this.freeList.length, made: this.made };
  }
}

/** The process's pool of 64 KiB read buffers (undici's and net's read size); at most 16 kept free (1 MiB). */
export const readBuffers = new ReadBufferPool(64 * 1024, 16);

/** The buffer an idle socket reads into, bytes: the first read of the next answer on it lands here too. */
export const IDLE_READ_BYTES = 1024;
