/**
 * "Did you mean …?" for a mistyped name: filters (`is_actve`) and the sandbox's `user` object
 * (`user.emial = …`) use this one function. It also runs in the isolate, evaluated before any
 * script, so the builtins it needs are captured here at load; no imports (the isolate's module
 * loader gives it nothing else).
 */

const Int32ArrayCtor = Int32Array;
const uncurry = Function.prototype.bind.bind(Function.prototype.call) as <A extends unknown[], R>(
  fn: (...args: A) => R,
) => (self: unknown, ...args: A) => R;
const charCodeAt = uncurry(String.prototype.charCodeAt) as (s: string, i: number) => number;

function editDistance(a: string, b: string): number {
  // Typed arrays: an index store never reaches a prototype a script could have changed.
  let previous = new Int32ArrayCtor(b.length + 1);
  let current = new Int32ArrayCtor(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (charCodeAt(a, i - 1) === charCodeAt(b, j - 1) ? 0 : 1);
      const insertion = current[j - 1]! + 1;
      const deletion = previous[j]! + 1;
      let best = substitution < insertion ? substitution : insertion;
      if (deletion < best) best = deletion;
      current[j] = best;
    }
    const swap = previous;
    previous = current;
    current = swap;
  }
  return previous[b.length]!;
}

/**
 * The candidate closest to `name` by edit distance when it is close enough to be a typo (1 edit
 * for names of up to 3 characters, else 2), or undefined.
 */
export function suggestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = (name.length <= 3 ? 1 : 2) + 1;
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
