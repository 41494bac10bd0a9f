package dev.jllama.model.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Attention with a per-example mask (packed fine-tuning windows) against the plain causal kernels run on each
 * example alone, forward and backward, on both CPU attention paths (OpenBLAS blocks and the Java key blocks).
 */
class MaskedAttentionTest {
    private static final int HEADS = 4, KV_HEADS = 2, HEAD_DIM = 16, SEQ = 150, BATCH = 2;
    /** Example starts per window: several examples, boundaries inside and across the kernels' 64-row blocks. */
    private static final int[][] EXAMPLES = {{0, 5, 40, 63, 64, 130}, {0, 100}};

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static Tensor tensor(Backend b, String name, float[] v) {
        Tensor t = b.allocate(name, v.length);
        b.write(t, 0, v, 0, v.length);
        return t;
    }

    private static float[] read(Backend b, Tensor t) {
        float[] v = new float[t.size()];
        b.read(t, 0, v, 0, v.length);
        return v;
    }

    /** {@code [rows, width]} rows {@code from .. from + n} of sequence {@code seq}. */
    private static float[] rows(float[] a, int seq, int from, int n, int width) {
        float[] out = new float[n * width];
        System.arraycopy(a, (seq * SEQ + from) * width, out, 0, n * width);
        return out;
    }

    @Test
    void maskedAttentionIsEachExampleAlone() {
        for (String matmul : new String[] {"auto", "java"}) {
            try (Backend b = new CpuBackend(2, matmul)) {
                SplittableRandom r = new SplittableRandom(11);
                int qw = HEADS * HEAD_DIM, kw = KV_HEADS * HEAD_DIM, rows = BATCH * SEQ;
                float[] q = random(r, rows * qw), k = random(r, rows * kw), v = random(r, rows * kw);
                float[] dout = random(r, rows * qw);
                int[] starts = new int[rows];
                for (int s = 0; s < BATCH; s++) {
                    for (int i = 0; i < EXAMPLES[s].length; i++) {
                        int end = i + 1 < EXAMPLES[s].length ? EXAMPLES[s][i + 1] : SEQ;
                        for (int t = EXAMPLES[s][i]; t < end; t++) starts[s * SEQ + t] = EXAMPLES[s][i];
                    }
                }
                IntTensor startTensor = b.allocateInts("starts", rows);
                b.writeInts(startTensor, starts, rows);
                Tensor qt = tensor(b, "q", q), kt = tensor(b, "k", k), vt = tensor(b, "v", v);
                Tensor out = b.allocate("out", rows * qw), lse = b.allocate("lse", BATCH * HEADS * SEQ);
                b.attention(out, lse, qt, kt, vt, startTensor, BATCH, SEQ, HEADS, KV_HEADS, HEAD_DIM);
                Tensor dq = b.allocate("dq", rows * qw), dk = b.allocate("dk", rows * kw), dv = b.allocate("dv", rows * kw);
                b.attentionBackward(dq, dk, dv, tensor(b, "dout", dout), out, lse, qt, kt, vt, startTensor,
                        BATCH, SEQ, HEADS, KV_HEADS, HEAD_DIM);
                float[] o = read(b, out), gq = read(b, dq), gk = read(b, dk), gv = read(b, dv);
                float[] plain = new float[rows * qw];
                Tensor plainOut = b.allocate("plain", rows * qw), plainLse = b.allocate("plain_lse", BATCH * HEADS * SEQ);
                b.attention(plainOut, plainLse, qt, kt, vt, BATCH, SEQ, HEADS, KV_HEADS, HEAD_DIM);
                b.read(plainOut, 0, plain, 0, plain.length);

                double worst = 0, crossing = 0;
                for (int s = 0; s < BATCH; s++) {
                    for (int i = 0; i < EXAMPLES[s].length; i++) {
                        int from = EXAMPLES[s][i], n = (i + 1 < EXAMPLES[s].length ? EXAMPLES[s][i + 1] : SEQ) - from;
                        Tensor eq = tensor(b, "eq", rows(q, s, from, n, qw)), ek = tensor(b, "ek", rows(k, s, from, n, kw));
                        Tensor ev = tensor(b, "ev", rows(v, s, from, n, kw));
                        Tensor eo = b.allocate("eo", n * qw), el = b.allocate("el", HEADS * n);
                        b.attention(eo, el, eq, ek, ev, 1, n, HEADS, KV_HEADS, HEAD_DIM);
                        Tensor edq = b.allocate("edq", n * qw), edk = b.allocate("edk", n * kw), edv = b.allocate("edv", n * kw);
                        b.attentionBackward(edq, edk, edv, tensor(b, "edout", rows(dout, s, from, n, qw)), eo, el, eq, ek,
                                ev, 1, n, HEADS, KV_HEADS, HEAD_DIM);
                        float[][] ours = {rows(o, s, from, n, qw), rows(gq, s, from, n, qw), rows(gk, s, from, n, kw),
                                rows(gv, s, from, n, kw)};
                        float[][] alone = {read(b, eo), read(b, edq), read(b, edk), read(b, edv)};
                        for (int x = 0; x < 4; x++) {
                            for (int j = 0; j < ours[x].length; j++) {
                                worst = Math.max(worst, Math.abs(ours[x][j] - alone[x][j]));
                            }
                        }
                        float[] p = rows(plain, s, from, n, qw);
                        for (int j = 0; j < p.length; j++) crossing = Math.max(crossing, Math.abs(p[j] - ours[0][j]));
                    }
                }
                System.out.printf("masked attention (%s matmul): max |masked - each example alone| %.3g over outputs and"
                        + " gradients; unmasked attention differs by up to %.3g%n", matmul, worst, crossing);
                assertTrue(crossing > 0.1, "the mask changes something");
                assertTrue(worst < 2e-5, matmul + ": masked attention differs from each example alone by " + worst);
            }
        }
    }
}
