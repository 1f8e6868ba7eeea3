"""Every method of every repository protocol has a contract test that names it with `covers`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from types import ModuleType
from typing import Protocol

import storage.protocols
import tests.contract
from tests.contract.support import COVERS, covers


def protocol_methods(module: ModuleType) -> set[str]:
    """`Protocol.method` for every public method of every Protocol class defined in `module`."""
    found: set[str] = set()
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__ or not getattr(cls, "_is_protocol", False):
            continue
        found |= {
            f"{cls.__qualname__}.{name}"
            for name, value in vars(cls).items()
            if not name.startswith("_") and callable(value)
        }
    return found


def covered(modules: Iterable[ModuleType]) -> set[str]:
    """The methods named by `covers` on the test functions of these modules."""
    names: set[str] = set()
    for module in modules:
        for _, test in inspect.getmembers(module, inspect.isfunction):
            if test.__name__.startswith("test_"):
                names |= getattr(test, COVERS, frozenset())
    return names


def contract_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{tests.contract.__name__}.{info.name}")
        for info in pkgutil.iter_modules(tests.contract.__path__)
        if info.name.startswith("test_")
    ]


def test_every_repository_method_has_a_contract_test() -> None:
    methods = protocol_methods(storage.protocols)
    assert len(methods) > 50  # the introspection found the protocols
    assert sorted(methods - covered(contract_modules())) == []


def test_covers_names_only_protocol_methods() -> None:
    assert sorted(covered(contract_modules()) - protocol_methods(storage.protocols)) == []


def test_a_method_without_a_test_is_reported() -> None:
    class Shelf(Protocol):
        async def put(self, item: str) -> None: ...
        async def take(self) -> str: ...

    @covers(Shelf.put)
    def test_put() -> None:
        pass

    fake_protocols = ModuleType("fake_protocols")
    Shelf.__module__ = fake_protocols.__name__
    fake_protocols.Shelf = Shelf  # type: ignore[attr-defined]
    fake_tests = ModuleType("fake_tests")
    fake_tests.test_put = test_put  # type: ignore[attr-defined]
    methods = protocol_methods(fake_protocols)
    assert methods == {f"{Shelf.__qualname__}.put", f"{Shelf.__qualname__}.take"}
    assert methods - covered([fake_tests]) == {f"{Shelf.__qualname__}.take"}
