package dev.jllama.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Memory-efficient causal attention (FlashAttention-style): work-groups of {@link #BLOCK} threads own a block of
 * queries (forward, dQ) or of keys (dK/dV) of one (sequence, head); key/value or query tiles are staged in local
 * memory, and scores exist only a tile at a time. Forward keeps an online softmax and saves each query's
 * log-sum-exp; backward recomputes probabilities from it. dQ and dK/dV are separate kernels so that every output
 * element has exactly one writer (no atomics, deterministic). Head dimensions up to {@link #HD_MAX}.
 *
 * <p>Local layouts: per-thread vectors as {@code [d * BLOCK + lid]} (conflict-free), shared tiles as
 * {@code [row * HD_MAX + d]} (every thread reads the same element: broadcast).
 */
final class AttentionKernels {
    static final int BLOCK = 32;
    /** Query rows per staged tile in the dK/dV kernel (keeps its local memory under 48 KiB). */
    static final int QTILE = 16;
    static final int HD_MAX = 64;
    static final float NEG = -3.0e38f;

    private AttentionKernels() {}

    /** {@code a}: out, lse, q, k, v, batch, seqLen, heads, kvHeads, headDim; {@code f}: scale. */
    static void forward(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        float[] qs = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] ks = c.allocateFloatLocalArray(BLOCK * HD_MAX);
        float[] vs = c.allocateFloatLocalArray(BLOCK * HD_MAX);
        float[] accs = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] ss = c.allocateFloatLocalArray(BLOCK * BLOCK);
        int lid = c.localIdx, g = c.groupIdx;
        int T = a.get(6), heads = a.get(7), kvHeads = a.get(8), hd = a.get(9);
        int nqb = (T + BLOCK - 1) / BLOCK;
        int qb = g % nqb, bh = g / nqb;
        int h = bh % heads, b = bh / heads;
        int kvh = h / (heads / kvHeads);
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int t = qb * BLOCK + lid;
        int valid = t < T ? 1 : 0;
        int qAt = a.get(2) + (b * T + t) * qStride + h * hd;
        for (int d = 0; d < hd; d++) {
            qs[d * BLOCK + lid] = valid == 1 ? mem.get(qAt + d) : 0f;
            accs[d * BLOCK + lid] = 0f;
        }
        float m = NEG, l = 0f;
        int lastKey = qb * BLOCK + BLOCK - 1;
        if (lastKey > T - 1) lastKey = T - 1;
        int kBase = a.get(3), vBase = a.get(4);
        for (int kb = 0; kb <= lastKey / BLOCK; kb++) {
            c.localBarrier();
            for (int e = lid; e < BLOCK * hd; e += BLOCK) {
                int j = e / hd, d = e % hd, s = kb * BLOCK + j;
                float kv = 0f, vv = 0f;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd + d;
                    kv = mem.get(kBase + at);
                    vv = mem.get(vBase + at);
                }
                ks[j * HD_MAX + d] = kv;
                vs[j * HD_MAX + d] = vv;
            }
            c.localBarrier();
            float blockMax = NEG;
            for (int j = 0; j < BLOCK; j++) {
                int s = kb * BLOCK + j;
                float score = NEG;
                if (valid == 1 && s <= t) {
                    float dot = 0f;
                    for (int d = 0; d < hd; d++) dot += qs[d * BLOCK + lid] * ks[j * HD_MAX + d];
                    score = dot * scale;
                }
                ss[j * BLOCK + lid] = score;
                blockMax = TornadoMath.max(blockMax, score);
            }
            float newMax = TornadoMath.max(m, blockMax);
            float rescale = TornadoMath.exp(m - newMax);
            l *= rescale;
            for (int j = 0; j < BLOCK; j++) {
                int s = kb * BLOCK + j;
                float p = 0f;
                if (valid == 1 && s <= t) p = TornadoMath.exp(ss[j * BLOCK + lid] - newMax);
                ss[j * BLOCK + lid] = p;
                l += p;
            }
            for (int d = 0; d < hd; d++) {
                float acc = accs[d * BLOCK + lid] * rescale;
                for (int j = 0; j < BLOCK; j++) acc += ss[j * BLOCK + lid] * vs[j * HD_MAX + d];
                accs[d * BLOCK + lid] = acc;
            }
            m = newMax;
        }
        if (valid == 1) {
            float inv = 1f / l;
            int oAt = a.get(0) + (b * T + t) * qStride + h * hd;
            for (int d = 0; d < hd; d++) mem.set(oAt + d, accs[d * BLOCK + lid] * inv);
            mem.set(a.get(1) + (b * heads + h) * T + t, m + TornadoMath.log(l));
        }
    }

    /** {@code D[(b*heads+h)*T + t] = dout . out} per query: the softmax-Jacobian correction. {@code a}: D, dout, out, count, T, heads, hd. */
    static void rowDot(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(3)) {
            int T = a.get(4), heads = a.get(5), hd = a.get(6);
            int t = i % T, bh = i / T;
            int h = bh % heads, b = bh / heads;
            int at = (b * T + t) * heads * hd + h * hd;
            int dy = a.get(1) + at, o = a.get(2) + at;
            float s = 0f;
            for (int d = 0; d < hd; d++) s += mem.get(dy + d) * mem.get(o + d);
            mem.set(a.get(0) + i, s);
        }
    }

    /** dQ, one thread per query; {@code a}: dq, dout, lse, D, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale. */
    static void backwardQuery(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        float[] qs = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] dos = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] dqs = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] ks = c.allocateFloatLocalArray(BLOCK * HD_MAX);
        float[] vs = c.allocateFloatLocalArray(BLOCK * HD_MAX);
        float[] ss = c.allocateFloatLocalArray(BLOCK * BLOCK);
        int lid = c.localIdx, g = c.groupIdx;
        int T = a.get(8), heads = a.get(9), kvHeads = a.get(10), hd = a.get(11);
        int nqb = (T + BLOCK - 1) / BLOCK;
        int qb = g % nqb, bh = g / nqb;
        int h = bh % heads, b = bh / heads;
        int kvh = h / (heads / kvHeads);
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int t = qb * BLOCK + lid;
        int valid = t < T ? 1 : 0;
        int rowAt = (b * T + t) * qStride + h * hd;
        int qBase = a.get(4), doBase = a.get(1);
        for (int d = 0; d < hd; d++) {
            qs[d * BLOCK + lid] = valid == 1 ? mem.get(qBase + rowAt + d) : 0f;
            dos[d * BLOCK + lid] = valid == 1 ? mem.get(doBase + rowAt + d) : 0f;
            dqs[d * BLOCK + lid] = 0f;
        }
        float rowLse = 0f, rowD = 0f;
        if (valid == 1) {
            rowLse = mem.get(a.get(2) + (b * heads + h) * T + t);
            rowD = mem.get(a.get(3) + (b * heads + h) * T + t);
        }
        int lastKey = qb * BLOCK + BLOCK - 1;
        if (lastKey > T - 1) lastKey = T - 1;
        int kBase = a.get(5), vBase = a.get(6);
        for (int kb = 0; kb <= lastKey / BLOCK; kb++) {
            c.localBarrier();
            for (int e = lid; e < BLOCK * hd; e += BLOCK) {
                int j = e / hd, d = e % hd, s = kb * BLOCK + j;
                float kv = 0f, vv = 0f;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd + d;
                    kv = mem.get(kBase + at);
                    vv = mem.get(vBase + at);
                }
                ks[j * HD_MAX + d] = kv;
                vs[j * HD_MAX + d] = vv;
            }
            c.localBarrier();
            for (int j = 0; j < BLOCK; j++) {
                int s = kb * BLOCK + j;
                float ds = 0f;
                if (valid == 1 && s <= t) {
                    float qk = 0f, dp = 0f;
                    for (int d = 0; d < hd; d++) {
                        qk += qs[d * BLOCK + lid] * ks[j * HD_MAX + d];
                        dp += dos[d * BLOCK + lid] * vs[j * HD_MAX + d];
                    }
                    float p = TornadoMath.exp(qk * scale - rowLse);
                    ds = p * (dp - rowD) * scale;
                }
                ss[j * BLOCK + lid] = ds;
            }
            for (int d = 0; d < hd; d++) {
                float acc = dqs[d * BLOCK + lid];
                for (int j = 0; j < BLOCK; j++) acc += ss[j * BLOCK + lid] * ks[j * HD_MAX + d];
                dqs[d * BLOCK + lid] = acc;
            }
        }
        if (valid == 1) {
            int out = a.get(0) + rowAt;
            for (int d = 0; d < hd; d++) mem.set(out + d, dqs[d * BLOCK + lid]);
        }
    }

    /**
     * dK and dV, one thread per key, summing over the query heads that share its kv head; {@code a}: dk, dv,
     * dout, lse, D, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale.
     */
    static void backwardKeyValue(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        float[] ks = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] vs = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] dks = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] dvs = c.allocateFloatLocalArray(HD_MAX * BLOCK);
        float[] qs = c.allocateFloatLocalArray(QTILE * HD_MAX);
        float[] dos = c.allocateFloatLocalArray(QTILE * HD_MAX);
        float[] ls = c.allocateFloatLocalArray(QTILE);
        float[] dd = c.allocateFloatLocalArray(QTILE);
        int lid = c.localIdx, g = c.groupIdx;
        int T = a.get(9), heads = a.get(10), kvHeads = a.get(11), hd = a.get(12);
        int nkb = (T + BLOCK - 1) / BLOCK;
        int kb = g % nkb, bk = g / nkb;
        int kvh = bk % kvHeads, b = bk / kvHeads;
        int group = heads / kvHeads;
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int s = kb * BLOCK + lid;
        int valid = s < T ? 1 : 0;
        int keyAt = (b * T + s) * kvStride + kvh * hd;
        int kBase = a.get(6), vBase = a.get(7), qBase = a.get(5), doBase = a.get(2);
        for (int d = 0; d < hd; d++) {
            ks[d * BLOCK + lid] = valid == 1 ? mem.get(kBase + keyAt + d) : 0f;
            vs[d * BLOCK + lid] = valid == 1 ? mem.get(vBase + keyAt + d) : 0f;
            dks[d * BLOCK + lid] = 0f;
            dvs[d * BLOCK + lid] = 0f;
        }
        for (int h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int t0 = kb * BLOCK; t0 < T; t0 += QTILE) {
                c.localBarrier();
                for (int e = lid; e < QTILE * hd; e += BLOCK) {
                    int i = e / hd, d = e % hd, t = t0 + i;
                    float qv = 0f, dv = 0f;
                    if (t < T) {
                        int at = (b * T + t) * qStride + h * hd + d;
                        qv = mem.get(qBase + at);
                        dv = mem.get(doBase + at);
                    }
                    qs[i * HD_MAX + d] = qv;
                    dos[i * HD_MAX + d] = dv;
                }
                if (lid < QTILE) {
                    int t = t0 + lid;
                    float lv = 0f, dv = 0f;
                    if (t < T) {
                        lv = mem.get(a.get(3) + (b * heads + h) * T + t);
                        dv = mem.get(a.get(4) + (b * heads + h) * T + t);
                    }
                    ls[lid] = lv;
                    dd[lid] = dv;
                }
                c.localBarrier();
                if (valid == 1) {
                    for (int i = 0; i < QTILE; i++) {
                        int t = t0 + i;
                        if (t < T && t >= s) {
                            float qk = 0f, dp = 0f;
                            for (int d = 0; d < hd; d++) {
                                qk += qs[i * HD_MAX + d] * ks[d * BLOCK + lid];
                                dp += dos[i * HD_MAX + d] * vs[d * BLOCK + lid];
                            }
                            float p = TornadoMath.exp(qk * scale - ls[i]);
                            float ds = p * (dp - dd[i]) * scale;
                            for (int d = 0; d < hd; d++) {
                                dvs[d * BLOCK + lid] += p * dos[i * HD_MAX + d];
                                dks[d * BLOCK + lid] += ds * qs[i * HD_MAX + d];
                            }
                        }
                    }
                }
            }
        }
        if (valid == 1) {
            int dk = a.get(0) + keyAt, dv = a.get(1) + keyAt;
            for (int d = 0; d < hd; d++) {
                mem.set(dk + d, dks[d * BLOCK + lid]);
                mem.set(dv + d, dvs[d * BLOCK + lid]);
            }
        }
    }
}
