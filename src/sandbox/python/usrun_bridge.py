# usrun: the Python side of the bridge to the sandbox's JavaScript API (prelude/python.ts).
# Runs once per isolate, before any script. It leaves exactly two names in __main__,
# _usrun_compile and _usrun_run, which the host takes and deletes; everything else (the host
# function, sys, builtins, the real __import__) lives only in closures, out of a script's reach.


def _usrun_setup():
    import builtins
    import io
    import json
    import sys
    import _usrun_host

    # What a script may import: modules with no way out to JavaScript, the file system or the
    # interpreter's internals. Imported here once; a script's import returns them from this table.
    allowed = {}
    for name in (
        "array",
        "base64",
        "binascii",
        "cmath",
        "collections",
        "copy",
        "datetime",
        "functools",
        "hashlib",
        "heapq",
        "hmac",
        "io",
        "itertools",
        "json",
        "math",
        "operator",
        "random",
        "re",
        "string",
        "struct",
        "time",
    ):
        allowed[name] = __import__(name)
    allowed_text = ", ".join(sorted(allowed))

    import datetime as dt

    utc = dt.timezone.utc
    epoch = dt.datetime(1970, 1, 1, tzinfo=utc)
    max_exact = 2**53 - 1
    host = _usrun_host.call
    loads = json.loads
    state = {"gen": 0}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        module = allowed.get(name) if level == 0 else None
        if module is None:
            raise ImportError(
                "usrun scripts cannot import " + repr(name) + "; they can import: " + allowed_text
            )
        return module

    builtins.__import__ = guarded_import
    def no_files(*args, **kwargs):
        raise OSError("usrun scripts have no files, input or help")

    for name in ("open", "input", "execfile", "help"):
        setattr(builtins, name, no_files)

    errors = {
        "RangeError": ValueError,
        "SyntaxError": ValueError,
    }

    def to_js(v):
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            if -max_exact <= v <= max_exact:
                return v
            raise OverflowError(
                "integer " + str(v) + " is too large for usrun (the most is 2**53 - 1): it cannot be stored exactly"
            )
        if t is float:
            if v != v:
                return ["f", "nan"]
            if v in (float("inf"), float("-inf")):
                return ["f", "inf" if v > 0 else "-inf"]
            return v
        if t is tuple or t is list:
            return ["l", [to_js(x) for x in v]]
        if t is dict:
            d = {}
            for k, x in v.items():
                if type(k) is not str:
                    raise TypeError("dict keys passed to usrun must be str, not " + type(k).__name__)
                d[k] = to_js(x)
            return ["d", d]
        if isinstance(v, dt.datetime):
            if v.tzinfo is None:
                v = v.replace(tzinfo=utc)
            return ["D", round((v - epoch).total_seconds() * 1000)]
        if isinstance(v, dt.date):
            return ["D", round((dt.datetime(v.year, v.month, v.day, tzinfo=utc) - epoch).total_seconds() * 1000)]
        if isinstance(v, JsObject):
            return ["h", v._usrun_gen, v._usrun_h]
        raise TypeError("usrun cannot pass a value of type " + t.__name__ + " to the user API")

    def to_py(v):
        if type(v) is not list:
            return v
        tag = v[0]
        if tag == "t":
            return tuple([to_py(x) for x in v[1]])
        if tag == "d":
            d = v[1]
            for k in d:
                d[k] = to_py(d[k])
            return d
        if tag == "D":
            return epoch + dt.timedelta(milliseconds=v[1])
        if tag == "h":
            return JsObject(v[1], v[2])
        if tag == "m":
            return JsMethod(v[1], v[2], v[3])
        if tag == "i":
            return int(v[1])
        if tag == "f":
            return float(v[1])
        raise TypeError("usrun: unknown value from the host")

    # A Python function call is costly in this build (its exception frames go through
    # JavaScript), so the common cases below avoid calls: primitives return as parsed.
    def answer(text, type_error=TypeError):
        v = loads(text)
        if type(v) is not list:
            return v
        if v[0] == "E":
            if v[1] == "TypeError":
                raise type_error(v[2])
            raise errors.get(v[1], RuntimeError)(v[2])
        return to_py(v)

    known_methods = set()

    class JsObject:
        """The user (or one of its API objects, like user.attr) as the JavaScript API has it."""

        def __init__(self, gen, h):
            object.__setattr__(self, "_usrun_gen", gen)
            object.__setattr__(self, "_usrun_h", h)

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            key = (self._usrun_h == 0, name)
            if key in known_methods:
                # A method of the API: no need to ask for it again (one host call per use).
                return JsMethod(self._usrun_gen, self._usrun_h, name)
            v = answer(host("get", self._usrun_gen, self._usrun_h, name, ""), AttributeError)
            if type(v) is JsMethod:
                known_methods.add(key)
            return v

        def __setattr__(self, name, value):
            answer(host("set", self._usrun_gen, self._usrun_h, name, json.dumps(to_js(value))))

        def __repr__(self):
            return "<usrun object>" if self._usrun_h else "<usrun user>"

    # Methods of user.attr take positional arguments in JavaScript; in Python (as in Zato) they
    # take them by name too. The user's own methods take keyword arguments as one object.
    attr_one = ("name", "value", "expiration", "encrypt")
    attr_many = ("data", "expiration", "encrypt")
    positional = {
        "set": attr_one,
        "create": attr_one,
        "update": attr_one,
        "set_many": attr_many,
        "create_many": attr_many,
        "update_many": attr_many,
        "get": ("name",),
        "get_many": ("names",),
        "exists": ("name",),
        "delete": ("name",),
        "delete_many": ("names",),
        "set_expiry": ("name", "expiration"),
    }
    missing = ["u"]

    def arguments(name, args, kwargs):
        a = [to_js(x) for x in args]
        if not kwargs:
            return a
        params = positional.get(name)
        if params is None:
            a.append(to_js(kwargs))
            return a
        kwargs = dict(kwargs)
        for i in range(len(a), len(params)):
            a.append(to_js(kwargs.pop(params[i])) if params[i] in kwargs else missing)
        while a and a[-1] is missing:
            a.pop()
        if kwargs:
            raise TypeError(name + "() got an unexpected keyword argument " + repr(sorted(kwargs)[0]))
        return a

    class JsMethod:
        def __init__(self, gen, h, name):
            self.gen = gen
            self.h = h
            self.name = name

        def __call__(self, *args, **kwargs):
            a = ["l", arguments(self.name, args, kwargs)]
            return answer(host("call", self.gen, self.h, self.name, json.dumps(a)))

        def __repr__(self):
            return "<usrun method " + self.name + ">"

    class Skip(BaseException):
        pass

    def skip(reason=None):
        host("skip", 0, 0, "", "" if reason is None else str(reason))
        raise Skip()

    def usrun_print(*args, sep=" ", end="\n", file=None, flush=False):
        text = sep.join([str(a) for a in args]) + end
        if text.endswith("\n"):
            text = text[:-1]
        host("log", 0, 0, "", text)

    builtins.print = usrun_print

    code = {}

    def where(e, filename):
        buf = io.StringIO()
        sys.print_exception(e, buf)
        needle = 'File "' + filename + '", line '
        line = None
        for text in buf.getvalue().split("\n"):
            text = text.strip()
            if text.startswith(needle):
                line = text[len(needle) :].split(",")[0]
        return None if line is None else filename + ":" + line

    def compile_script(source, filename):
        try:
            code["script"] = compile(source, filename, "exec")
            code["filename"] = filename
            return ""
        except SyntaxError as e:
            loc = where(e, filename) or (filename + ":1")
            return loc + ": SyntaxError: " + str(e.args[0] if e.args else e)

    def run():
        filename = code["filename"]
        try:
            gen, row, params = answer(host("begin", 0, 0, "", ""))
            user = JsObject(gen, 0)
            g = {
                "__name__": "__main__",
                "user": user,
                "obj": user,
                "row": row,
                "params": params,
                "skip": skip,
                "print": usrun_print,
            }
            exec(code["script"], g)
            return ""
        except Skip:
            return "S"
        except BaseException as e:
            name = type(e).__name__
            text = str(e)
            message = name + (": " + text if text else "")
            return json.dumps([message, where(e, filename)])

    return compile_script, run


_usrun_compile, _usrun_run = _usrun_setup()
del _usrun_setup
