/**
 * Prelude fragment: the intrinsics the bookkeeping uses, captured when the prelude is evaluated,
 * before any script code has run. Later code never looks anything up on a prototype or a global
 * the script can replace: methods are uncurried (`call.bind`), working lists and maps have a null
 * prototype, and results handed to the script get their prototype only once they are complete.
 */
export const INTRINSICS_SOURCE = String.raw`
const G = globalThis;
const uncurry = Function.prototype.bind.bind(Function.prototype.call);
const ObjectPrototype = Object.prototype;
const ArrayPrototype = Array.prototype;
const objectCreate = Object.create;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const hasOwn = Object.hasOwn;
const setPrototypeOf = Object.setPrototypeOf;
const isArray = Array.isArray;
const isSafeInteger = Number.isSafeInteger;
const isFiniteNumber = Number.isFinite;
const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;
const StringCtor = String;
const DateCtor = Date;
const dateParse = Date.parse;
const dateGetTime = uncurry(Date.prototype.getTime);
const dateToISOString = uncurry(Date.prototype.toISOString);
const charCodeAt = uncurry(String.prototype.charCodeAt);
const stringSlice = uncurry(String.prototype.slice);
const stringIndexOf = uncurry(String.prototype.indexOf);
const regexpExec = uncurry(RegExp.prototype.exec);
const ErrorCtor = Error;
const TypeErrorCtor = TypeError;
const ProxyCtor = Proxy;
const FunctionCtor = Function;
const reflectGet = Reflect.get;
const reflectHas = Reflect.has;
const reflectDeleteProperty = Reflect.deleteProperty;
const weakMapGet = uncurry(WeakMap.prototype.get);
const weakMapSet = uncurry(WeakMap.prototype.set);

// The user objects and user.attr objects handed out, mapped to their per-user state.
const owners = new WeakMap();

// A list immune to index setters or methods planted on Array.prototype.
function list() {
  const a = [];
  setPrototypeOf(a, null);
  return a;
}

function push(a, v) {
  a[a.length] = v;
}

// Reads a property of host data only if it is its own: a missing key must not reach a getter
// planted on Object.prototype.
function own(o, k) {
  return o !== null && typeof o === 'object' && hasOwn(o, k) ? o[k] : undefined;
}

// Gives a freshly built list the ordinary array prototype, to hand it to the script.
function toScriptArray(a) {
  setPrototypeOf(a, ArrayPrototype);
  return a;
}

function typeError(message) {
  return new TypeErrorCtor(message);
}
`;
