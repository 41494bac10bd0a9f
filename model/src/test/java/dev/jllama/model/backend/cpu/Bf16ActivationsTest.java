package dev.jllama.model.backend.cpu;

import static dev.jllama.model.backend.cpu.Bf16TestValues.rounded;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Saved activations kept in bf16 ({@link CpuBackend#allocateActivation} in bf16): every kernel that reads or writes
 * one gives exactly what it gives on an fp32 tensor holding the same (bf16) values, its output rounded once. Runs on
 * whichever bf16 form this machine has (rounded operands on sgemm, or sbgemm).
 */
class Bf16ActivationsTest {
    private static final int ROWS = 48, DIM = 32, OUT = 40, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 8, SEQ = 24;

    private final CpuBackend backend = new CpuBackend(2, Precision.BF16);
    private final SplittableRandom random = new SplittableRandom(11);

    private float[] gaussian(int n) {
        return Bf16TestValues.gaussian(random, n);
    }

    /** An fp32 tensor and a kept one, both holding {@code values} rounded to bf16. */
    private Tensor[] pair(String name, float[] values) {
        Tensor fp32 = backend.allocate(name, values.length), kept = backend.allocateActivation(name, values.length);
        backend.write(fp32, 0, rounded(values), 0, values.length);
        backend.write(kept, 0, values, 0, values.length);
        return new Tensor[] {fp32, kept};
    }

    private float[] read(Tensor t) {
        float[] x = new float[t.size()];
        backend.read(t, 0, x, 0, x.length);
        return x;
    }

    @Test
    void keptTensorsTakeHalfTheBytesAndRoundWhenWritten() {
        Tensor kept = backend.allocateActivation("x", 5);
        assertEquals(10, kept.bytes());
        assertEquals(20, backend.allocate("y", 5).bytes());
        assertEquals(20, new CpuBackend(1, Precision.FP32).allocateActivation("z", 5).bytes());
        float[] values = {1.00390625f, 1.01171875f, -3.3f, Float.MIN_NORMAL, 65504f};
        backend.write(kept, 0, values, 0, 5);
        assertArrayEquals(rounded(values), read(kept));
        Tensor copy = backend.allocate("copy", 5);
        backend.copy(copy, 0, kept, 0, 5);
        assertArrayEquals(rounded(values), read(copy));
        backend.zero(kept);
        assertArrayEquals(new float[5], read(kept));
        Tensor stats = backend.allocate("rstd", ROWS);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                backend.rmsnorm(backend.allocate("o", 5), stats, kept, backend.allocate("g", 5), 1, 5, 1e-5f));
        assertTrue(e.getMessage().contains("'x' is kept in bf16"), e.getMessage());
    }

    @Test
    void productsWriteAndReadKeptTensorsAsTheirBf16Values() {
        Tensor x = backend.allocate("x", ROWS * DIM), w = backend.allocate("w", OUT * DIM);
        backend.write(x, 0, gaussian(ROWS * DIM), 0, ROWS * DIM);
        backend.write(w, 0, gaussian(OUT * DIM), 0, OUT * DIM);
        Tensor out = backend.allocate("out", ROWS * OUT), keptOut = backend.allocateActivation("out", ROWS * OUT);
        backend.matmul(out, x, w, ROWS, DIM, OUT);
        backend.matmul(keptOut, x, w, ROWS, DIM, OUT);
        assertArrayEquals(rounded(read(out)), read(keptOut));

        // A kept tensor as an operand: forward and weight gradient, as the attention output is for wo.
        Tensor[] input = pair("attention_out", gaussian(ROWS * DIM));
        Tensor dout = backend.allocate("dout", ROWS * OUT);
        backend.write(dout, 0, gaussian(ROWS * OUT), 0, ROWS * OUT);
        backend.matmul(out, input[0], w, ROWS, DIM, OUT);
        float[] expected = read(out);
        backend.matmul(out, input[1], w, ROWS, DIM, OUT);
        assertArrayEquals(expected, read(out));
        Tensor dw = backend.allocate("dw", OUT * DIM), keptDw = backend.allocate("dw2", OUT * DIM);
        backend.matmulBackwardWeight(dw, dout, input[0], ROWS, DIM, OUT);
        backend.matmulBackwardWeight(keptDw, dout, input[1], ROWS, DIM, OUT);
        assertArrayEquals(read(dw), read(keptDw));
    }

    @Test
    void elementwiseKernelsReadKeptTensorsAsTheirBf16Values() {
        int n = ROWS * OUT + 5; // not a whole number of vectors
        Tensor[] gate = pair("gate", gaussian(n)), up = pair("up", gaussian(n));
        Tensor act = backend.allocate("act", n), keptAct = backend.allocate("act2", n);
        backend.swiglu(act, gate[0], up[0], n);
        backend.swiglu(keptAct, gate[1], up[1], n);
        assertArrayEquals(read(act), read(keptAct));

        Tensor dAct = backend.allocate("d_act", n);
        backend.write(dAct, 0, gaussian(n), 0, n);
        Tensor dGate = backend.allocate("d_gate", n), dUp = backend.allocate("d_up", n);
        Tensor dGate2 = backend.allocate("d_gate2", n), dUp2 = backend.allocate("d_up2", n);
        backend.swigluBackward(dGate, dUp, dAct, gate[0], up[0], n);
        backend.swigluBackward(dGate2, dUp2, dAct, gate[1], up[1], n);
        assertArrayEquals(read(dGate), read(dGate2));
        assertArrayEquals(read(dUp), read(dUp2));

        Tensor table = backend.allocate("rope", SEQ * HEAD_DIM);
        backend.write(table, 0, gaussian(SEQ * HEAD_DIM), 0, SEQ * HEAD_DIM);
        Tensor[] q = pair("q", gaussian(ROWS * HEADS * HEAD_DIM));
        backend.rope(q[0], table, ROWS, SEQ, HEADS, HEAD_DIM, false);
        backend.rope(q[1], table, ROWS, SEQ, HEADS, HEAD_DIM, false);
        assertArrayEquals(rounded(read(q[0])), read(q[1]));
    }

    @Test
    void attentionReadsAndWritesKeptTensorsAsTheirBf16Values() {
        int batch = ROWS / SEQ, qSize = ROWS * HEADS * HEAD_DIM, kvSize = ROWS * KV_HEADS * HEAD_DIM;
        Tensor[] q = pair("q", gaussian(qSize)), k = pair("k", gaussian(kvSize)), v = pair("v", gaussian(kvSize));
        Tensor out = backend.allocate("out", qSize), keptOut = backend.allocateActivation("out", qSize);
        Tensor lse = backend.allocate("lse", batch * HEADS * SEQ), keptLse = backend.allocate("lse2", batch * HEADS * SEQ);
        backend.attention(out, lse, q[0], k[0], v[0], batch, SEQ, HEADS, KV_HEADS, HEAD_DIM);
        backend.attention(keptOut, keptLse, q[1], k[1], v[1], batch, SEQ, HEADS, KV_HEADS, HEAD_DIM);
        assertArrayEquals(rounded(read(out)), read(keptOut));
        assertArrayEquals(read(lse), read(keptLse));

        // Backward from the kept output, against an fp32 output holding its values.
        Tensor roundedOut = backend.allocate("out_rounded", qSize);
        backend.write(roundedOut, 0, read(keptOut), 0, qSize);
        Tensor dout = backend.allocate("dout", qSize);
        backend.write(dout, 0, gaussian(qSize), 0, qSize);
        Tensor[] expected = {backend.allocate("dq", qSize), backend.allocate("dk", kvSize), backend.allocate("dv", kvSize)};
        Tensor[] actual = {backend.allocate("dq2", qSize), backend.allocate("dk2", kvSize), backend.allocate("dv2", kvSize)};
        backend.attentionBackward(expected[0], expected[1], expected[2], dout, roundedOut, lse, q[0], k[0], v[0],
                batch, SEQ, HEADS, KV_HEADS, HEAD_DIM);
        backend.attentionBackward(actual[0], actual[1], actual[2], dout, keptOut, keptLse, q[1], k[1], v[1],
                batch, SEQ, HEADS, KV_HEADS, HEAD_DIM);
        for (int i = 0; i < 3; i++) assertArrayEquals(read(expected[i]), read(actual[i]), expected[i].name());
    }
}
