package dev.jllama.tornado;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Zeroed native memory that takes no physical memory until written: C's {@code calloc}, which for large sizes maps
 * fresh pages that the kernel supplies as zero when first touched (and reads of untouched pages see the shared zero
 * page). The JVM's own native allocation ({@link Arena#allocate}) writes every byte to zero it, so all of it becomes
 * resident and counts against {@code -XX:MaxDirectMemorySize}.
 *
 * <p>For the float arenas' host copies: TornadoVM needs a host array behind every device array, but the backend
 * moves tensors through small staging arrays, so an arena's host copy is read only by the first execution's copy to
 * the device and never written.
 */
final class ZeroPages {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CALLOC = LINKER.downcallHandle(LINKER.defaultLookup().find("calloc").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().find("free").orElseThrow(),
            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

    private ZeroPages() {}

    /** {@code bytes} of zeroed memory, freed when the segment is no longer reachable. */
    static MemorySegment allocate(long bytes) {
        MemorySegment at;
        try {
            at = (MemorySegment) CALLOC.invokeExact(1L, bytes);
        } catch (Throwable e) {
            throw new IllegalStateException("calloc of " + bytes + " bytes", e);
        }
        if (at.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError("calloc of " + bytes + " bytes (" + (bytes >> 20) + " MiB) failed: host memory");
        }
        return at.reinterpret(bytes, Arena.ofAuto(), ZeroPages::free);
    }

    private static void free(MemorySegment at) {
        try {
            FREE.invokeExact(at);
        } catch (Throwable e) {
            throw new IllegalStateException("free", e);
        }
    }
}
