// A sealed JSON column's value ({ name: sealed value }) brought under the codec: values stored in clear
// before encryption was configured are sealed, and the first sealed value met is opened, so a wrong key
// fails at once (every value is sealed under the one key). Both engines' column helpers run rows through it.
import type { SecretCodec } from './secret-codec.js';

export class Resealer {
  private keyChecked = false;
  private readonly sealed: (value: string) => boolean;

  /** The codec must tell sealed values apart (isSealed): the identity codec has nothing to reseal. */
  constructor(
    private readonly codec: SecretCodec & { isSealed(value: string): boolean },
  ) {
    this.sealed = codec.isSealed.bind(codec);
  }

  /** The column text with every clear value sealed, or undefined when every value was sealed already. */
  reseal(text: string): string | undefined {
    const values = JSON.parse(text) as Record<string, string>;
    let dirty = false;
    for (const [name, value] of Object.entries(values)) {
      if (this.sealed(value)) {
        if (!this.keyChecked) this.codec.open(value);
        this.keyChecked = true;
        continue;
      }
      values[name] = this.codec.seal(this.codec.open(value));
      dirty = true;
    }
    return dirty ? JSON.stringify(values) : undefined;
  }
}

/** A Resealer for the codec, or undefined when the codec cannot tell sealed values apart. */
export function resealerOf(codec: SecretCodec): Resealer | undefined {
  return codec.isSealed ? new Resealer(codec as SecretCodec & { isSealed(value: string): boolean }) : undefined;
}
