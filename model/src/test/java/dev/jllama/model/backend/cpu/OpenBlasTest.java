package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The native OpenBLAS binding: loads from the jar on linux-x86_64, and its bits do not depend on where arrays lie. */
class OpenBlasTest {
    private static OpenBlas blas;

    @BeforeAll
    static void load() {
        String arch = System.getProperty("os.arch");
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && (arch.equals("amd64") || arch.equals("x86_64")),
                "OpenBLAS natives are shipped for linux-x86_64 only");
        blas = OpenBlas.get();
        assertNotNull(blas, "OpenBLAS natives must load on linux-x86_64: " + OpenBlas.failure());
    }

    @Test
    void namesItsVersionAndKernel() {
        assertTrue(blas.describe().matches("openblas 0\\.3\\.\\d+ \\(\\w+\\)"), blas.describe());
        assertTrue(blas.config().contains(blas.coreName()), blas.config() + " vs " + blas.coreName());
    }

    /**
     * A garbage collection may move a heap array, which changes its address modulo the vector width; OpenBLAS packs
     * operands into its own aligned buffers (and its unpacked small-matrix kernels load unaligned), so the product
     * must be the same bits at every alignment. Checked at all 16 float offsets within 64 bytes, in every transpose.
     */
    @Test
    void bitsDoNotDependOnTheAlignmentOfTheArrays() {
        SplittableRandom random = new SplittableRandom(3);
        int m = 37, n = 45, k = 300;
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) random.nextGaussian();
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                float[] reference = null;
                for (int shift = 0; shift < 16; shift++) {
                    float[] as = new float[a.length + shift], bs = new float[b.length + shift];
                    float[] c = new float[m * n + shift];
                    System.arraycopy(a, 0, as, shift, a.length);
                    System.arraycopy(b, 0, bs, shift, b.length);
                    blas.sgemm(transA, transB, m, n, k, as, shift, transA ? m : k, bs, shift, transB ? k : n,
                            0f, c, shift, n);
                    float[] product = java.util.Arrays.copyOfRange(c, shift, shift + m * n);
                    if (reference == null) reference = product;
                    assertArrayEquals(reference, product, "transA " + transA + ", transB " + transB + ": offset "
                            + shift + " floats changed the bits");
                }
            }
        }
    }

    @Test
    void tilesDependOnTheShapeOnly() {
        assertTrue(OpenBlasGemm.tileWidth(2048) == 256, "2048 rows: 8 tiles of 256");
        assertTrue(OpenBlasGemm.tileWidth(288) == 80, "288: 4 tiles, 16-aligned");
        assertTrue(OpenBlasGemm.tileWidth(64) == 64, "64: one tile");
        assertTrue(OpenBlasGemm.tileWidth(1) == 16, "1: one tile");
    }
}
