import type { FilterNode } from './filter-ast.js';

/**
 * The profile short names the filter asks for by equality (`profiles[short_name eq "gold"]`,
 * `profiles.short_name eq "gold"`), so a run can say when one names no profile: such a filter
 * selects nobody, which a typo should not do silently. Pure.
 */
export function filterProfileNames(ast: FilterNode): string[] {
  const names = new Set<string>();
  const visit = (node: FilterNode, inProfiles: boolean): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        visit(node.left, inProfiles);
        visit(node.right, inProfiles);
        return;
      case 'not':
        visit(node.operand, inProfiles);
        return;
      case 'complex':
        if (node.attr === 'profiles' && node.filter) visit(node.filter, true);
        return;
      case 'compare':
        if (inProfiles && node.attr === 'short_name' && node.op === 'eq' && node.value.type === 'string')
          names.add(node.value.value);
        return;
      default:
        return;
    }
  };
  visit(ast, false);
  return [...names];
}
