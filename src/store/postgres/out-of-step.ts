// The resourceVersion counter was not where the unit holding the writer lock knew it to be: a bug of the
// store (a bump it did not note), never another writer's doing. The write it stopped wrote nothing.
export class OutOfStepError extends Error {
  constructor(held: number, known: number) {
    super(`The resourceVersion counter is at ${held}, not at ${known} as the unit holding the writer lock knew it: nothing was written`);
    this.name = 'OutOfStepError';
  }
}
