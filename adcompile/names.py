"""Fresh, readable names that never clash with the user's."""

from __future__ import annotations

import copy
from collections.abc import Container


class NameGen:
    """Hands out names not in ``taken``: ``x``, ``x_1``, ``x_2``, ... and temporaries ``t1``..."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        #: names a generated function must not take as locals: the module-level names it
        #: reads (a local ``new_tape`` would hide the kernel of that name); see
        #: ``Namespace.local_names``
        self.avoid: Container[str] = ()
        self._temps = 0
        #: base -> the suffix up to which every ``base_k`` is known to be taken (names are
        #: only ever added to ``taken``), so that the thousandth version of a name costs no
        #: more than the first
        self._suffix: dict[str, int] = {}

    def __deepcopy__(self, memo: dict) -> NameGen:
        out = copy.copy(self)  # avoid stays the namespace's own bindings
        out.taken, out._suffix = set(self.taken), dict(self._suffix)
        return out

    def fresh(self, base: str) -> str:
        """``base`` itself if free, else ``base_1``, ``base_2``, ..."""
        name, k = base, 0
        if base in self.taken or base in self.avoid:
            k = self._suffix.get(base, 0) + 1
            name = f"{base}_{k}"
            while name in self.taken or name in self.avoid:
                k += 1
                name = f"{base}_{k}"
            self._suffix[base] = k
        self.taken.add(name)
        return name

    def temp(self) -> str:
        """The next temporary: ``t1``, ``t2``, ... skipping any name already in use."""
        while True:
            self._temps += 1
            name = f"t{self._temps}"
            if name not in self.taken and name not in self.avoid:
                self.taken.add(name)
                return name


class Namespace:
    """The module-level names of a generated module: each bound to the object it denotes.

    Starts from the user's free names (kept as the user wrote them); names that rules bring in
    (``np``, constants) are added under their own name unless that would clash.
    """

    def __init__(self, bindings: dict[str, object], taken: set[str]) -> None:
        self.bindings: dict[str, object] = dict(bindings)
        self.taken = taken
        #: names bound to functions written into the module itself (not imported or injected)
        self.emitted: set[str] = set()
        #: the name generators of the module's functions: a name bound later avoids their
        #: locals, as their locals avoid the names bound
        self.locals: list[NameGen] = []
        #: whether no source the module is made from mentions an infinity (see
        #: ``codegen.may_hold_infinity``): rules then leave out their guards against one
        self.finite_only = False

    def local_names(self, names: NameGen) -> NameGen:
        """A copy of ``names`` for a function of this module: its fresh names and the
        module-level names bound here never clash, whichever is made first."""
        out = copy.deepcopy(names)
        out.avoid = self.bindings
        self.locals.append(out)
        return out

    def bind(self, preferred: str, obj: object) -> str:
        """The module-level name under which ``obj`` is reachable, binding it if needed."""
        for name, bound in self.bindings.items():
            if bound is obj and not (isinstance(obj, (int, float)) and name != preferred):
                return name
        name, k = preferred, 0
        while (name in self.bindings or name in self.taken
               or any(name in g.taken for g in self.locals)):
            k += 1
            name = f"{preferred}_{k}"
        self.bindings[name] = obj
        return name
