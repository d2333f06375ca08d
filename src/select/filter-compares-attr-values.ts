import type { FilterNode } from './filter-ast.js';

/**
 * Which `user_attrs` the filter compares by value, so a run can refuse a filter that would have to
 * read encrypted values (the SQL never matches ciphertext, which would silently select nobody).
 *
 * Returns the attr names, lower-cased (the filter matches names case-insensitively), when every
 * `attrs[...]` that compares `value` pins its name with `name eq "..."`; `'any'` when one does not
 * (`attrs[value eq "gold"]`, `attrs.value pr` does not count: it needs no decryption); `[]` when
 * the filter compares no attr value at all.
 */
export function filterComparesAttrValues(ast: FilterNode): string[] | 'any' {
  const names = new Set<string>();
  let any = false;
  const visit = (node: FilterNode): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        visit(node.left);
        visit(node.right);
        return;
      case 'not':
        visit(node.operand);
        return;
      case 'complex': {
        if (node.attr !== 'attrs' || !node.filter || !comparesValue(node.filter)) return;
        const pinned = pinnedNames(node.filter);
        if (pinned) for (const name of pinned) names.add(name);
        else any = true;
        return;
      }
      default:
        return;
    }
  };
  visit(ast);
  return any ? 'any' : [...names].sort();
}

function comparesValue(node: FilterNode): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return comparesValue(node.left) || comparesValue(node.right);
    case 'not':
      return comparesValue(node.operand);
    case 'compare':
      return node.attr === 'value';
    default:
      return false;
  }
}

/** The names a row must have to match `node` (inside `attrs[...]`), or undefined if any name can. */
function pinnedNames(node: FilterNode): string[] | undefined {
  switch (node.kind) {
    case 'compare':
      return node.attr === 'name' && node.op === 'eq' && node.value.type === 'string'
        ? [node.value.value.toLowerCase()]
        : undefined;
    case 'and': {
      const left = pinnedNames(node.left);
      const right = pinnedNames(node.right);
      if (left && right) return left.filter((name) => right.includes(name));
      return left ?? right;
    }
    case 'or': {
      const left = pinnedNames(node.left);
      const right = pinnedNames(node.right);
      return left && right ? [...new Set([...left, ...right])] : undefined;
    }
    default:
      return undefined;
  }
}
