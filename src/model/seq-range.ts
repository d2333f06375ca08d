/** The items of a run whose seq lies in `[first, last]`: a chunk of a shared run. */
export interface SeqRange {
  first: number;
  last: number;
}
