package dev.jllama.model.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** The precision of the backend seam: its spelling, and a backend that implements only fp32 refusing bf16. */
class PrecisionTest {

    @Test
    void parsesTheCommandLineSpelling() {
        assertSame(Precision.BF16, Precision.parse("bf16"));
        assertSame(Precision.FP32, Precision.parse("FP32"));
        assertEquals("bf16", Precision.BF16.label());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
        assertTrue(e.getMessage().contains("fp32 or bf16"), e.getMessage());
    }

    /** A provider that knows nothing of precision, as the TornadoVM backend's does. */
    private static final class Fp32OnlyProvider implements BackendProvider {
        @Override
        public String name() {
            return "fp32-only";
        }

        @Override
        public int priority() {
            return 0;
        }

        @Override
        public boolean available() {
            return true;
        }

        @Override
        public Backend create(int deviceIndex, int threads) {
            return new CpuBackend(1);
        }
    }

    @Test
    void aBackendWithoutBf16KernelsRefusesBf16AndRunsFp32() {
        BackendProvider provider = new Fp32OnlyProvider();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> provider.create(-1, 1, Precision.BF16));
        assertTrue(e.getMessage().contains("'fp32-only' does not implement bf16"), e.getMessage());
        try (Backend backend = provider.create(-1, 1, Precision.FP32)) {
            assertSame(Precision.FP32, backend.precision());
        }
    }

    @Test
    void theCpuBackendRunsBf16AndNamesItsKernel() {
        try (Backend backend = Backends.create("cpu", -1, 1, Precision.BF16)) {
            assertSame(Precision.BF16, backend.precision());
            assertTrue(backend.device().contains("matmul bf16 "), backend.device());
        }
        try (Backend backend = Backends.create("cpu", -1, 1)) {
            assertSame(Precision.FP32, backend.precision());
            assertTrue(!backend.device().contains("bf16"), backend.device());
        }
    }
}
