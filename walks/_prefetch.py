"""A software prefetch for numba kernels: ``prefetch(array, i)`` asks the CPU to bring ``array[i]`` into cache.

It is a hint (LLVM's ``llvm.prefetch``): it never faults, changes no value, and an index past the end is harmless.
The walk kernels use it to overlap the cache misses of several walks advanced in turn by one thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["prefetch"]

_I32 = ir.IntType(32)


@intrinsic
def _prefetch(typingctx, array, index):  # type: ignore[no-untyped-def]
    """``prefetch(array, index)``: read prefetch of ``array[index]`` into all cache levels (1-d arrays)."""
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        addr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        fnty = ir.FunctionType(ir.VoidType(), [addr.type, _I32, _I32, _I32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [addr, _I32(0), _I32(3), _I32(1)])  # read, high locality, data cache
        return context.get_dummy_value()

    return sig, codegen


prefetch = cast(Callable[[Any, Any], None], _prefetch)  # as called from kernels: (array, index)
