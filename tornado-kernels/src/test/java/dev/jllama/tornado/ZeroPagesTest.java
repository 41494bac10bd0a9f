package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Lazily zeroed host memory: zero to read, resident only where written; the JVM's own allocation as the baseline. */
class ZeroPagesTest {
    private static final long SIZE = 512L << 20;
    private static final Path STATUS = Path.of("/proc/self/status");

    @Test
    void readsZeroAndTakesNoMemoryUntilWritten() throws IOException {
        assumeTrue(Files.isReadable(STATUS), "resident memory is read from /proc (Linux)");
        long before = residentBytes();
        MemorySegment lazy = ZeroPages.allocate(SIZE);
        for (long at = 0; at < SIZE; at += 64L << 20) assertEquals(0f, lazy.get(ValueLayout.JAVA_FLOAT, at));
        lazy.set(ValueLayout.JAVA_INT, 0, 7);
        assertEquals(7, lazy.get(ValueLayout.JAVA_INT, 0));
        long lazyGrowth = residentBytes() - before;
        assertTrue(lazyGrowth < SIZE / 16, "calloc'd " + (SIZE >> 20) + " MiB: resident grew " + (lazyGrowth >> 20) + " MiB");

        try (Arena arena = Arena.ofConfined()) {
            long beforeJvm = residentBytes();
            arena.allocate(SIZE);
            long jvmGrowth = residentBytes() - beforeJvm;
            assertTrue(jvmGrowth > SIZE / 2, "the JVM's zeroing allocation: resident grew " + (jvmGrowth >> 20) + " MiB");
        }
    }

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(STATUS)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
        }
        throw new IllegalStateException("no VmRSS in " + STATUS);
    }
}
