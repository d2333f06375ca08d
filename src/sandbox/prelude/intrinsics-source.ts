/**
 * Prelude fragment: the intrinsics the bookkeeping uses, captured when the prelude is evaluated,
 * before any script code has run. Later code never looks anything up where a script can plant
 * something: methods are uncurried (`call.bind`), and the bookkeeping's own objects and lists
 * have prototypes whose own prototype is null, so a missing property or an index store never
 * reaches Object.prototype or Array.prototype.
 */
export const INTRINSICS_SOURCE = String.raw`
const G = globalThis;
const uncurry = Function.prototype.bind.bind(Function.prototype.call);
const ObjectPrototype = Object.prototype;
const ArrayPrototype = Array.prototype;
const objectCreate = Object.create;
const defineProperty = Object.defineProperty;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
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
const dateNow = Date.now;
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
const DatePrototype = Date.prototype;
const dateToJSON = Date.prototype.toJSON;
const dateToISOStringMethod = Date.prototype.toISOString;
// Prototypes whose toJSON would change how JSON.stringify serializes a later user's values.
const JSON_HOOK_PROTOTYPES = [
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
function record(C) {
  setPrototypeOf(C.prototype, null);
  return C;
}

// A list immune to index setters or methods planted on Array.prototype.
class List extends Array {
  constructor() {
    super();
  }
}
record(List);

function push(a, v) {
  a[a.length] = v;
}

// Reads a property only if it is the object's own: for host data and for the script's argument
// objects alike, a missing key must not reach a getter an earlier script planted on
// Object.prototype.
function own(o, k) {
  return o !== null && typeof o === 'object' && hasOwn(o, k) ? o[k] : undefined;
}

// Element i of an array decoded from the host's JSON (dense, so every index below length is
// its own); undefined past the end instead of a lookup on Array.prototype.
function at(a, i) {
  return isArray(a) && i < a.length ? a[i] : undefined;
}

// Gives a freshly built List the ordinary array prototype, to hand it to the script.
function toScriptArray(a) {
  setPrototypeOf(a, ArrayPrototype);
  return a;
}

function typeError(message) {
  return new TypeErrorCtor(message);
}
`;
