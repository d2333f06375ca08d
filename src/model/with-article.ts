/** A noun with its indefinite article, as a message says it: "an import", "a run". */
export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}
