package dev.jllama.tornado;

import static dev.jllama.tornado.ArenaMemory.ARENA;
import static dev.jllama.tornado.ArenaMemory.load;
import static dev.jllama.tornado.ArenaMemory.store;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Memory-efficient causal attention (FlashAttention-style): work-groups of {@code block} threads own a block of
 * queries (forward, dQ) or of keys (dK/dV) of one (sequence, head); key/value or query tiles are staged in local
 * memory, and scores exist only a tile at a time. Forward keeps an online softmax and saves each query's
 * log-sum-exp; backward recomputes probabilities from it. dQ and dK/dV are separate kernels so that every output
 * element has exactly one writer (no atomics, deterministic).
 *
 * <p>The block is the work-group size, {@link #block(int)}: 32 threads up to head_dim 64, fewer for wider heads (16 at
 * 96 and 128, 8 up to {@link #HD_MAX}), so that every per-thread vector set and every staged tile is at most
 * {@link #TILE} floats whatever the head width, and each kernel's local memory stays at its head_dim-64 size
 * (36-44 KiB, under the 48 KiB a work-group gets on NVIDIA's OpenCL).
 *
 * <p>Local layouts: per-thread vectors as {@code [d * block + lid]} (conflict-free), shared tiles as
 * {@code [row * headDim + d]} (every thread reads the same element: broadcast).
 */
final class AttentionKernels {
    /** The widest work-group (head_dim up to 64). */
    static final int BLOCK_MAX = 32;
    /** Floats of one per-thread vector set ({@code block x headDim}) or staged key/value tile. */
    static final int TILE = BLOCK_MAX * 64;
    /** The widest head: one {@link #TILE} at the smallest block, 8 threads. */
    static final int HD_MAX = TILE / 8;
    static final float NEG = -3.0e38f;

    private AttentionKernels() {}

    /**
     * Threads per work-group for {@code headDim}: the largest power of two up to {@link #BLOCK_MAX} whose
     * {@code block x headDim} fits a {@link #TILE}, for {@code headDim} in 1..{@link #HD_MAX}. The dK/dV kernel
     * stages query tiles of {@code block / 2} rows.
     */
    static int block(int headDim) {
        int block = BLOCK_MAX;
        while (block * headDim > TILE) block /= 2;
        return block;
    }

    /** {@code a}: out, lse, q, k, v, batch, seqLen, heads, kvHeads, headDim; {@code f}: scale. */
    static void forward(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                        FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] qs = c.allocateFloatLocalArray(TILE);
        float[] ks = c.allocateFloatLocalArray(TILE);
        float[] vs = c.allocateFloatLocalArray(TILE);
        float[] accs = c.allocateFloatLocalArray(TILE);
        float[] ss = c.allocateFloatLocalArray(BLOCK_MAX * BLOCK_MAX);
        int lid = c.localIdx, g = c.groupIdx, block = c.localGroupSizeX;
        int T = a.get(6), heads = a.get(7), kvHeads = a.get(8), hd = a.get(9);
        int nqb = (T + block - 1) / block;
        int qb = g % nqb, bh = g / nqb;
        int h = bh % heads, b = bh / heads;
        int kvh = h / (heads / kvHeads);
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int t = qb * block + lid;
        int valid = t < T ? 1 : 0;
        int qAt = a.get(2) + (b * T + t) * qStride + h * hd;
        for (int d = 0; d < hd; d++) {
            qs[d * block + lid] = valid == 1 ? load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 2), qAt + d) : 0f;
            accs[d * block + lid] = 0f;
        }
        float m = NEG, l = 0f;
        int lastKey = qb * block + block - 1;
        if (lastKey > T - 1) lastKey = T - 1;
        int kBase = a.get(3), vBase = a.get(4), kArena = a.get(ARENA + 3), vArena = a.get(ARENA + 4);
        for (int kb = 0; kb <= lastKey / block; kb++) {
            c.localBarrier();
            for (int e = lid; e < block * hd; e += block) {
                int j = e / hd, d = e % hd, s = kb * block + j;
                float kv = 0f, vv = 0f;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd + d;
                    kv = load(m0, m1, m2, m3, m4, m5, m6, m7, kArena, kBase + at);
                    vv = load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vBase + at);
                }
                ks[j * hd + d] = kv;
                vs[j * hd + d] = vv;
            }
            c.localBarrier();
            float blockMax = NEG;
            for (int j = 0; j < block; j++) {
                int s = kb * block + j;
                float score = NEG;
                if (valid == 1 && s <= t) {
                    float dot = 0f;
                    for (int d = 0; d < hd; d++) dot += qs[d * block + lid] * ks[j * hd + d];
                    score = dot * scale;
                }
                ss[j * block + lid] = score;
                blockMax = TornadoMath.max(blockMax, score);
            }
            float newMax = TornadoMath.max(m, blockMax);
            float rescale = TornadoMath.exp(m - newMax);
            l *= rescale;
            for (int j = 0; j < block; j++) {
                int s = kb * block + j;
                float p = 0f;
                if (valid == 1 && s <= t) p = TornadoMath.exp(ss[j * block + lid] - newMax);
                ss[j * block + lid] = p;
                l += p;
            }
            for (int d = 0; d < hd; d++) {
                float acc = accs[d * block + lid] * rescale;
                for (int j = 0; j < block; j++) acc += ss[j * block + lid] * vs[j * hd + d];
                accs[d * block + lid] = acc;
            }
            m = newMax;
        }
        if (valid == 1) {
            float inv = 1f / l;
            int oAt = a.get(0) + (b * T + t) * qStride + h * hd;
            int outArena = a.get(ARENA);
            for (int d = 0; d < hd; d++) store(m0, m1, m2, m3, m4, m5, m6, m7, outArena, oAt + d, accs[d * block + lid] * inv);
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + (b * heads + h) * T + t, m + TornadoMath.log(l));
        }
    }

    /** {@code D[(b*heads+h)*T + t] = dout . out} per query: the softmax-Jacobian correction. {@code a}: D, dout, out, count, T, heads, hd. */
    static void rowDot(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                       FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(3)) {
            int T = a.get(4), heads = a.get(5), hd = a.get(6);
            int t = i % T, bh = i / T;
            int h = bh % heads, b = bh / heads;
            int at = (b * T + t) * heads * hd + h * hd;
            int dy = a.get(1) + at, o = a.get(2) + at, dyArena = a.get(ARENA + 1), oArena = a.get(ARENA + 2);
            float s = 0f;
            for (int d = 0; d < hd; d++) s += load(m0, m1, m2, m3, m4, m5, m6, m7, dyArena, dy + d) * load(m0, m1, m2, m3, m4, m5, m6, m7, oArena, o + d);
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + i, s);
        }
    }

    /** dQ, one thread per query; {@code a}: dq, dout, lse, D, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale. */
    static void backwardQuery(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                              FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] qs = c.allocateFloatLocalArray(TILE);
        float[] dos = c.allocateFloatLocalArray(TILE);
        float[] dqs = c.allocateFloatLocalArray(TILE);
        float[] ks = c.allocateFloatLocalArray(TILE);
        float[] vs = c.allocateFloatLocalArray(TILE);
        float[] ss = c.allocateFloatLocalArray(BLOCK_MAX * BLOCK_MAX);
        int lid = c.localIdx, g = c.groupIdx, block = c.localGroupSizeX;
        int T = a.get(8), heads = a.get(9), kvHeads = a.get(10), hd = a.get(11);
        int nqb = (T + block - 1) / block;
        int qb = g % nqb, bh = g / nqb;
        int h = bh % heads, b = bh / heads;
        int kvh = h / (heads / kvHeads);
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int t = qb * block + lid;
        int valid = t < T ? 1 : 0;
        int rowAt = (b * T + t) * qStride + h * hd;
        int qBase = a.get(4), doBase = a.get(1), qArena = a.get(ARENA + 4), doArena = a.get(ARENA + 1);
        for (int d = 0; d < hd; d++) {
            qs[d * block + lid] = valid == 1 ? load(m0, m1, m2, m3, m4, m5, m6, m7, qArena, qBase + rowAt + d) : 0f;
            dos[d * block + lid] = valid == 1 ? load(m0, m1, m2, m3, m4, m5, m6, m7, doArena, doBase + rowAt + d) : 0f;
            dqs[d * block + lid] = 0f;
        }
        float rowLse = 0f, rowD = 0f;
        if (valid == 1) {
            rowLse = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 2), a.get(2) + (b * heads + h) * T + t);
            rowD = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 3), a.get(3) + (b * heads + h) * T + t);
        }
        int lastKey = qb * block + block - 1;
        if (lastKey > T - 1) lastKey = T - 1;
        int kBase = a.get(5), vBase = a.get(6), kArena = a.get(ARENA + 5), vArena = a.get(ARENA + 6);
        for (int kb = 0; kb <= lastKey / block; kb++) {
            c.localBarrier();
            for (int e = lid; e < block * hd; e += block) {
                int j = e / hd, d = e % hd, s = kb * block + j;
                float kv = 0f, vv = 0f;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd + d;
                    kv = load(m0, m1, m2, m3, m4, m5, m6, m7, kArena, kBase + at);
                    vv = load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vBase + at);
                }
                ks[j * hd + d] = kv;
                vs[j * hd + d] = vv;
            }
            c.localBarrier();
            for (int j = 0; j < block; j++) {
                int s = kb * block + j;
                float ds = 0f;
                if (valid == 1 && s <= t) {
                    float qk = 0f, dp = 0f;
                    for (int d = 0; d < hd; d++) {
                        qk += qs[d * block + lid] * ks[j * hd + d];
                        dp += dos[d * block + lid] * vs[j * hd + d];
                    }
                    float p = TornadoMath.exp(qk * scale - rowLse);
                    ds = p * (dp - rowD) * scale;
                }
                ss[j * block + lid] = ds;
            }
            for (int d = 0; d < hd; d++) {
                float acc = dqs[d * block + lid];
                for (int j = 0; j < block; j++) acc += ss[j * block + lid] * ks[j * hd + d];
                dqs[d * block + lid] = acc;
            }
        }
        if (valid == 1) {
            int out = a.get(0) + rowAt;
            int dqArena = a.get(ARENA);
            for (int d = 0; d < hd; d++) store(m0, m1, m2, m3, m4, m5, m6, m7, dqArena, out + d, dqs[d * block + lid]);
        }
    }

    /**
     * dK and dV, one thread per key, summing over the query heads that share its kv head; {@code a}: dk, dv,
     * dout, lse, D, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale.
     */
    static void backwardKeyValue(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                                 FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] ks = c.allocateFloatLocalArray(TILE);
        float[] vs = c.allocateFloatLocalArray(TILE);
        float[] dks = c.allocateFloatLocalArray(TILE);
        float[] dvs = c.allocateFloatLocalArray(TILE);
        float[] qs = c.allocateFloatLocalArray(TILE / 2);
        float[] dos = c.allocateFloatLocalArray(TILE / 2);
        float[] ls = c.allocateFloatLocalArray(BLOCK_MAX / 2);
        float[] dd = c.allocateFloatLocalArray(BLOCK_MAX / 2);
        int lid = c.localIdx, g = c.groupIdx, block = c.localGroupSizeX;
        int T = a.get(9), heads = a.get(10), kvHeads = a.get(11), hd = a.get(12);
        int nkb = (T + block - 1) / block;
        int kb = g % nkb, bk = g / nkb;
        int kvh = bk % kvHeads, b = bk / kvHeads;
        int group = heads / kvHeads, qtile = block / 2;
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int s = kb * block + lid;
        int valid = s < T ? 1 : 0;
        int keyAt = (b * T + s) * kvStride + kvh * hd;
        int kBase = a.get(6), vBase = a.get(7), qBase = a.get(5), doBase = a.get(2);
        int kArena = a.get(ARENA + 6), vArena = a.get(ARENA + 7), qArena = a.get(ARENA + 5), doArena = a.get(ARENA + 2);
        int lseArena = a.get(ARENA + 3), dArena = a.get(ARENA + 4);
        for (int d = 0; d < hd; d++) {
            ks[d * block + lid] = valid == 1 ? load(m0, m1, m2, m3, m4, m5, m6, m7, kArena, kBase + keyAt + d) : 0f;
            vs[d * block + lid] = valid == 1 ? load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vBase + keyAt + d) : 0f;
            dks[d * block + lid] = 0f;
            dvs[d * block + lid] = 0f;
        }
        for (int h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int t0 = kb * block; t0 < T; t0 += qtile) {
                c.localBarrier();
                for (int e = lid; e < qtile * hd; e += block) {
                    int i = e / hd, d = e % hd, t = t0 + i;
                    float qv = 0f, dv = 0f;
                    if (t < T) {
                        int at = (b * T + t) * qStride + h * hd + d;
                        qv = load(m0, m1, m2, m3, m4, m5, m6, m7, qArena, qBase + at);
                        dv = load(m0, m1, m2, m3, m4, m5, m6, m7, doArena, doBase + at);
                    }
                    qs[i * hd + d] = qv;
                    dos[i * hd + d] = dv;
                }
                if (lid < qtile) {
                    int t = t0 + lid;
                    float lv = 0f, dv = 0f;
                    if (t < T) {
                        lv = load(m0, m1, m2, m3, m4, m5, m6, m7, lseArena, a.get(3) + (b * heads + h) * T + t);
                        dv = load(m0, m1, m2, m3, m4, m5, m6, m7, dArena, a.get(4) + (b * heads + h) * T + t);
                    }
                    ls[lid] = lv;
                    dd[lid] = dv;
                }
                c.localBarrier();
                if (valid == 1) {
                    for (int i = 0; i < qtile; i++) {
                        int t = t0 + i;
                        if (t < T && t >= s) {
                            float qk = 0f, dp = 0f;
                            for (int d = 0; d < hd; d++) {
                                qk += qs[i * hd + d] * ks[d * block + lid];
                                dp += dos[i * hd + d] * vs[d * block + lid];
                            }
                            float p = TornadoMath.exp(qk * scale - ls[i]);
                            float ds = p * (dp - dd[i]) * scale;
                            for (int d = 0; d < hd; d++) {
                                dvs[d * block + lid] += p * dos[i * hd + d];
                                dks[d * block + lid] += ds * qs[i * hd + d];
                            }
                        }
                    }
                }
            }
        }
        if (valid == 1) {
            int dk = a.get(0) + keyAt, dv = a.get(1) + keyAt, dkArena = a.get(ARENA), dvArena = a.get(ARENA + 1);
            for (int d = 0; d < hd; d++) {
                store(m0, m1, m2, m3, m4, m5, m6, m7, dkArena, dk + d, dks[d * block + lid]);
                store(m0, m1, m2, m3, m4, m5, m6, m7, dvArena, dv + d, dvs[d * block + lid]);
            }
        }
    }
}
