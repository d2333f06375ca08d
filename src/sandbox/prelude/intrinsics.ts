/**
 * Prelude: the intrinsics the bookkeeping uses, captured when the prelude is evaluated,
 * before any script code has run. Later code never looks anything up where a script can plant
 * something: methods are uncurried (`call.bind`), and the bookkeeping's own objects and lists
 * have prototypes whose own prototype is null, so a missing property or an index store never
 * reaches Object.prototype or Array.prototype.
 */

export const G = globalThis;
export const uncurry = Function.prototype.bind.bind(Function.prototype.call) as (
  fn: (...args: any[]) => any,
) => (self: any, ...args: any[]) => any;
export const ObjectPrototype = Object.prototype;
export const ArrayPrototype = Array.prototype;
export const objectCreate = Object.create;
export const defineProperty = Object.defineProperty;
export const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const freeze = Object.freeze;
export const objectKeys = Object.keys;
export const hasOwn = Object.hasOwn;
export const setPrototypeOf = Object.setPrototypeOf;
export const isArray = Array.isArray;
export const isSafeInteger = Number.isSafeInteger;
export const isFiniteNumber = Number.isFinite;
export const jsonParse = JSON.parse;
export const jsonStringify = JSON.stringify;
export const StringCtor = String;
export const DateCtor = Date;
export const dateParse = Date.parse;
export const dateGetTime = uncurry(Date.prototype.getTime) as (d: unknown) => number;
export const dateToISOString = uncurry(Date.prototype.toISOString) as (d: Date) => string;
export const charCodeAt = uncurry(String.prototype.charCodeAt) as (s: string, i: number) => number;
export const stringSlice = uncurry(String.prototype.slice) as (
  s: string,
  from: number,
  to?: number,
) => string;
export const stringIndexOf = uncurry(String.prototype.indexOf) as (
  s: string,
  x: string,
  from?: number,
) => number;
export const regexpExec = uncurry(RegExp.prototype.exec) as (re: RegExp, s: string) => RegExpExecArray | null;
export const ErrorCtor = Error;
export const captureStackTrace = Error.captureStackTrace;
export const TypeErrorCtor = TypeError;
export const ProxyCtor = Proxy;
export const AsyncFunctionCtor = Object.getPrototypeOf(async function () {})
  .constructor as FunctionConstructor;
export const reflectGet = Reflect.get;
export const reflectHas = Reflect.has;
export const reflectDeleteProperty = Reflect.deleteProperty;
export const DatePrototype = Date.prototype;
export const dateToJSON = Date.prototype.toJSON;
export const dateToISOStringMethod = Date.prototype.toISOString;
// Prototypes whose toJSON would change how JSON.stringify serializes a later user's values.
export const JSON_HOOK_PROTOTYPES = [
  Object.prototype,
  Array.prototype,
  String.prototype,
  Number.prototype,
  Boolean.prototype,
  BigInt.prototype,
  Symbol.prototype,
  Function.prototype,
  RegExp.prototype,
  Error.prototype,
  Map.prototype,
  Set.prototype,
];
setPrototypeOf(JSON_HOOK_PROTOTYPES, null);

// Makes a class's instances safe records: their prototype chain ends right after the class's
// prototype. Those prototypes are not frozen (V8 would take slow paths); no script reaches them.
export function record<C extends abstract new (...args: any[]) => unknown>(C: C): C {
  setPrototypeOf(C.prototype, null);
  return C;
}

// A list immune to index setters or methods planted on Array.prototype.
export class List<T = any> extends Array<T> {
  constructor() {
    super();
  }
}
record(List);

export function push<T>(a: T[], v: T): void {
  a[a.length] = v;
}

// Reads a property only if it is the object's own: for host data and for the script's argument
// objects alike, a missing key must not reach a getter an earlier script planted on
// Object.prototype.
export function own(o: unknown, k: PropertyKey): any {
  return o !== null && typeof o === 'object' && hasOwn(o, k)
    ? (o as Record<PropertyKey, unknown>)[k]
    : undefined;
}

// Element i of an array decoded from the host's JSON (dense, so every index below length is
// its own); undefined past the end instead of a lookup on Array.prototype.
export function at(a: unknown, i: number): any {
  return isArray(a) && i < a.length ? a[i] : undefined;
}

// Gives a freshly built List the ordinary array prototype, to hand it to the script.
export function toScriptArray<T>(a: T[]): T[] {
  setPrototypeOf(a, ArrayPrototype);
  return a;
}

export function typeError(message: string): TypeError {
  return new TypeErrorCtor(message);
}
