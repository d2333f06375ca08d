import { BARRIER, type PlannedItem, type PlannedSource } from './commit-items.js';
import type { RunControl } from './run-control.js';

/**
 * One step of a planned list: an item planned when its turn comes, or a barrier. `again` is true
 * when the item's user changed since it was planned: plan it from a fresh read.
 */
export type PlanStep = ((again: boolean) => Promise<PlannedItem>) | typeof BARRIER;

/**
 * A `PlannedSource` over steps planned one at a time, in order: each step plans its item from
 * the state when its turn comes (after every earlier item was applied), and `replan` asks the
 * same step again. A stop ends it before the next item.
 */
export function listSource(steps: readonly PlanStep[], control: RunControl): PlannedSource {
  let next = 0;
  const bySeq = new Map<number, (again: boolean) => Promise<PlannedItem>>();
  return {
    get ready() {
      return true;
    },
    async next() {
      if (control.stopping || next >= steps.length) return null;
      const step = steps[next++] as PlanStep;
      if (step === BARRIER) return BARRIER;
      const item = await step(false);
      bySeq.set(item.result.seq, step);
      return item;
    },
    async replan(item) {
      const step = bySeq.get(item.result.seq);
      return step ? step(true) : item;
    },
  };
}
