import {
  ATTR_METHODS,
  CONSOLE_METHODS,
  SCRIPT_GLOBALS,
  USER_METHODS,
  USER_READERS,
  type ApiMember,
} from '../model/script-api.js';
import { CHECK_OPS, MAX_ATTR_VALUE_BYTES, MAX_RADIUS_VALUE, REPLY_OPS } from '../model/value-rules.js';
import { USER_FIELDS, type UserField } from '../store/user-fields.js';

const doc = (text: string, indent = ''): string => `${indent}/** ${text} */\n`;
const union = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(' | ');

function methods(members: Readonly<Record<string, ApiMember>>, indent: string): string {
  let out = '';
  for (const [name, member] of Object.entries(members)) {
    out += doc(member.doc, indent);
    for (const signature of member.ts) out += `${indent}${name}${signature};\n`;
  }
  return out;
}

function fieldDoc(f: UserField): string {
  const parts = [`\`${f.name}\`: ${f.type}`];
  if (!f.nullable) parts.push('never null');
  if (f.maxLength !== undefined) parts.push(`at most ${f.maxLength} characters`);
  if (!f.writable) parts.push('read-only');
  if (f.type === 'timestamp') parts.push('each read is a new Date: assign to change it');
  return parts.join(', ') + '.';
}

function field(f: UserField): string {
  const orNull = f.nullable ? ' | null' : '';
  let out = doc(fieldDoc(f), '  ');
  if (f.type === 'timestamp') {
    if (!f.writable) return `${out}  readonly ${f.name}: Date${orNull};\n`;
    // Reads are Dates; writes also take ISO-8601 text.
    out += `  get ${f.name}(): Date${orNull};\n`;
    return `${out}  set ${f.name}(value: Date | string${orNull});\n`;
  }
  const type = { integer: 'number', string: 'string', boolean: 'boolean' }[f.type];
  return `${out}  ${f.writable ? '' : 'readonly '}${f.name}: ${type}${orNull};\n`;
}

/**
 * The TypeScript declarations of everything a script sees (`usrun types`), generated from the
 * definitions the sandbox enforces: the user fields (USER_FIELDS), the RADIUS operators and
 * value rules (value-rules.ts) and the script API (script-api.ts). A global script file: put it
 * beside your scripts with a tsconfig/jsconfig that includes it and `"lib": ["ES2023"]`.
 */
export function scriptTypes(version: string): string {
  let out = `// Declarations of the globals a usrun script sees, written by \`usrun types\` (usrun ${version}).
// Generated from the definitions the sandbox enforces; regenerate rather than edit.
// Use: beside your scripts, a tsconfig.json (an editor reads it too) that includes this file:
//   { "compilerOptions": { "lib": ["ES2023"], "types": [], "strict": true, "noEmit": true,
//       "allowJs": true, "checkJs": true, "moduleDetection": "force", "module": "ESNext",
//       "target": "ES2023" }, "include": ["*.ts", "*.js"] }
// A script is the body of an async function: \`await\` is fine; a top-level \`return\`, which usrun
// allows, is the one thing tsc flags in a bare script.

/** A value \`user.attr\` holds: JSON (no NaN, Infinity, undefined, Map, Date…), at most ${MAX_ATTR_VALUE_BYTES} bytes. */
type UsrunJsonValue = null | boolean | number | string | readonly UsrunJsonValue[] | { readonly [key: string]: UsrunJsonValue };
/** Reply attribute operators: \`=\` (default) adds if absent, \`:=\` replaces, \`+=\` appends. */
type UsrunReplyOp = ${union(REPLY_OPS)};
/** Check attribute operators (default \`==\`). */
type UsrunCheckOp = ${union(CHECK_OPS)};
/** What every user method returns: whether it changed the user, and what happened. */
type UsrunMethodResult = [updated: boolean, message: string];
/** A profile by short_name or id. */
type UsrunProfileArg = string | number | { readonly short_name: string } | { readonly id: number };
/** An attribute row as an argument (\`op\` works as well as \`operation\`). Values are stored as text of at most ${MAX_RADIUS_VALUE} characters. */
interface UsrunRadiusArg<Op extends string> {
  readonly attr: string;
  readonly value: string | number;
  readonly operation?: Op | null;
  readonly op?: Op | null;
}
/** A reply or check attribute row. */
interface UsrunRadiusRow {
  readonly attr: string;
  readonly op: string;
  readonly value: string;
}
/** One of the user's profiles, with the rows RADIUS adds from it (read-only). */
interface UsrunProfile {
  readonly id: number;
  readonly short_name: string;
  readonly name: string | null;
  readonly priority: number;
  readonly attributes: readonly UsrunRadiusRow[];
  readonly check_attributes: readonly UsrunRadiusRow[];
}
/** One entry of \`user.attr.set_many\` and friends. */
interface UsrunAttrEntry {
  readonly name: string;
  readonly value: UsrunJsonValue;
  readonly expiration?: number | null;
  readonly encrypt?: boolean;
}
/** \`user.attr\`: key/value attributes with expiry. */
interface UsrunUserAttr {
${methods(ATTR_METHODS, '  ')}}
/** The user being run. Unknown properties, read-only fields and wrong types throw a TypeError. */
interface UsrunUser {
`;
  for (const f of USER_FIELDS) out += field(f);
  for (const [name, member] of Object.entries(USER_READERS)) {
    out += doc(member.doc, '  ');
    out += `  readonly ${name}: ${member.ts[0]};\n`;
  }
  out += methods(USER_METHODS, '  ');
  out += `}
/** The CSV row: column → text. */
type UsrunRow = { readonly [column: string]: string };
/** --param values: key → text (undefined when not given). */
type UsrunParams = { readonly [key: string]: string | undefined };
/** The script's console. */
interface UsrunConsole {
${methods(CONSOLE_METHODS, '  ')}}

`;
  for (const [name, member] of Object.entries(SCRIPT_GLOBALS)) {
    out += doc(member.doc);
    const ts = member.ts[0] as string;
    out += ts.startsWith('(') ? `declare function ${name}${ts};\n` : `declare const ${name}: ${ts};\n`;
  }
  return out;
}
