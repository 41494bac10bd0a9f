package dev.jllama.tornado;

import static dev.jllama.tornado.ArenaMemory.ARENA;
import static dev.jllama.tornado.ArenaMemory.load;
import static dev.jllama.tornado.ArenaMemory.store;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Memory-efficient causal attention (FlashAttention-style): a work-group owns a block of queries (forward, dQ) or
 * of keys (dK/dV) of one (sequence, head); key/value or query tiles are staged in local memory, and scores exist
 * only a tile at a time. Forward keeps an online softmax and saves each query's log-sum-exp; backward recomputes
 * probabilities from it. dQ and dK/dV are separate kernels so that every output element has exactly one writer
 * (no atomics, deterministic).
 *
 * <p>The block is {@link #block(int)} rows: 32 up to head_dim 64, fewer for wider heads (16 at 96 and 128, 8 up to
 * {@link #HD_MAX}), so that a staged tile is at most {@link #TILE} floats (plus padding) whatever the head width,
 * and each kernel's local memory stays under the 48 KiB a work-group gets on NVIDIA's OpenCL (41 KiB at most).
 *
 * <p>Every kernel runs {@link #THREADS} threads per block as small matrix products per tile: first the
 * {@code block x block} scores (and in backward their gradients), thread {@code lid} holding those of queries
 * {@code lid / KEY_LANES + QUERY_LANES * i} ({@code i < 4}) and keys {@code lid % KEY_LANES + KEY_LANES * j}
 * ({@code j < 2}) in registers, as far as the block goes; then the outputs, each thread holding 4 rows x 4 dims of every output in registers. Staged
 * tiles are {@code [row * (hd + 1) + d]}: the pad puts a column's rows on distinct banks. Every staged value a thread
 * reads feeds 1.3 (scores) to 2 (outputs) FMAs; the former kernels (one thread per row, its vectors in local
 * memory) read two staged values per FMA and gave a work-group of 32 threads the local memory these give 128.
 *
 * <p>The tile loops are written out in each kernel: TornadoVM compiles a local array passed to a method as a Java
 * array (indexed in bytes past an object header), so local tiles cannot go through a shared helper.
 */
final class AttentionKernels {
    /** The most rows of a block (head_dim up to 64). */
    static final int BLOCK_MAX = 32;
    /** Floats of one per-thread vector set or staged tile ({@code block x headDim}). */
    static final int TILE = BLOCK_MAX * 64;
    /** The widest head: one {@link #TILE} at the smallest block, 8 rows. */
    static final int HD_MAX = TILE / 8;
    static final float NEG = -3.0e38f;
    /** Threads of a work-group, whatever the head width: {@code block / 4} x {@code ceil(hd / 4)} of them own the outputs. */
    static final int THREADS = 128;
    /** Query and key lanes of a tile's scores: 8 x 16 = {@link #THREADS}. */
    static final int QUERY_LANES = 8, KEY_LANES = 16;
    /** Floats of a staged tile: {@code block} rows of {@code hd + 1} (the pad keeps columns on distinct banks). */
    static final int STAGED = TILE + BLOCK_MAX;
    /** Floats of a tile's scores, probabilities or score gradients: {@code block x (block + 1)}. */
    static final int SCORES = BLOCK_MAX * (BLOCK_MAX + 1);

    private AttentionKernels() {}

    /**
     * Rows of a block for {@code headDim} (the forward's work-group size): the largest power of two up to
     * {@link #BLOCK_MAX} whose {@code block x headDim} fits a {@link #TILE}, for {@code headDim} in 1..{@link #HD_MAX}.
     */
    static int block(int headDim) {
        int block = BLOCK_MAX;
        while (block * headDim > TILE) block /= 2;
        return block;
    }

    /**
     * Forward for a block of queries of one (sequence, head): per key tile, the scaled scores into local memory;
     * one thread per query then moves its online softmax on (running max and sum) and turns its row into
     * probabilities; then {@code O = O rescale + P V}, each thread holding 4 queries x 4 dims in registers.
     * {@code a}: out, lse, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale.
     */
    static void forward(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                        FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] qs = c.allocateFloatLocalArray(STAGED);
        float[] ks = c.allocateFloatLocalArray(STAGED);
        float[] vs = c.allocateFloatLocalArray(STAGED);
        float[] ps = c.allocateFloatLocalArray(SCORES);
        float[] maxes = c.allocateFloatLocalArray(BLOCK_MAX);
        float[] sums = c.allocateFloatLocalArray(BLOCK_MAX);
        float[] rescales = c.allocateFloatLocalArray(BLOCK_MAX);
        int lid = c.localIdx, g = c.groupIdx;
        int T = a.get(6), heads = a.get(7), kvHeads = a.get(8), hd = a.get(9);
        int block = block(hd), pad = hd + 1;
        int nqb = (T + block - 1) / block;
        int qb = g % nqb, bh = g / nqb;
        int h = bh % heads, b = bh / heads;
        int kvh = h / (heads / kvHeads);
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int q0 = qb * block;
        int qBase = a.get(2), qArena = a.get(ARENA + 2);
        for (int e = lid; e < block * hd; e += THREADS) {
            int i = e / hd, d = e % hd, t = q0 + i;
            qs[i * pad + d] = t < T ? load(m0, m1, m2, m3, m4, m5, m6, m7, qArena, qBase + (b * T + t) * qStride + h * hd + d) : 0f;
        }
        if (lid < block) {
            maxes[lid] = NEG;
            sums[lid] = 0f;
        }
        int dLanes = (hd + 3) / 4, qLanes = block / 4;
        int dl = lid % dLanes, ol = lid / dLanes;
        int sl = lid / KEY_LANES, kl = lid % KEY_LANES;
        int rows = block / QUERY_LANES;
        int cols = kl < block ? (block + KEY_LANES - 1) / KEY_LANES : 0;
        float[] acc = new float[16];
        float[] x4 = new float[4];
        float[] s8 = new float[8];
        float[] p4 = new float[4];
        float[] v4 = new float[4];
        for (int x = 0; x < 16; x++) acc[x] = 0f;
        int lastKey = q0 + block - 1;
        if (lastKey > T - 1) lastKey = T - 1;
        int kBase = a.get(3), vBase = a.get(4), kArena = a.get(ARENA + 3), vArena = a.get(ARENA + 4);
        for (int k0 = 0; k0 <= lastKey; k0 += block) {
            c.localBarrier();
            for (int e = lid; e < block * hd; e += THREADS) {
                int j = e / hd, d = e % hd, s = k0 + j;
                float kv = 0f, vv = 0f;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd + d;
                    kv = load(m0, m1, m2, m3, m4, m5, m6, m7, kArena, kBase + at);
                    vv = load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vBase + at);
                }
                ks[j * pad + d] = kv;
                vs[j * pad + d] = vv;
            }
            c.localBarrier();
            for (int e = 0; e < 8; e++) s8[e] = 0f;
            for (int d = 0; d < hd; d++) {
                for (int i = 0; i < 4; i++) {
                    if (i < rows) x4[i] = qs[(sl + QUERY_LANES * i) * pad + d];
                }
                for (int j = 0; j < 2; j++) {
                    if (j < cols) {
                        float kv = ks[(kl + KEY_LANES * j) * pad + d];
                        for (int i = 0; i < 4; i++) {
                            if (i < rows) s8[i * 2 + j] += x4[i] * kv;
                        }
                    }
                }
            }
            for (int i = 0; i < 4; i++) {
                if (i < rows) {
                    for (int j = 0; j < 2; j++) {
                        if (j < cols) ps[(sl + QUERY_LANES * i) * (block + 1) + kl + KEY_LANES * j] = s8[i * 2 + j] * scale;
                    }
                }
            }
            int keys = lastKey - k0 + 1;
            if (keys > block) keys = block;
            c.localBarrier();
            if (lid < block) {
                int t = q0 + lid;
                int allowed = t - k0 + 1;
                if (allowed > keys) allowed = keys;
                if (t >= T) allowed = 0;
                float m = maxes[lid], tileMax = NEG;
                for (int j = 0; j < allowed; j++) tileMax = TornadoMath.max(tileMax, ps[lid * (block + 1) + j]);
                float newMax = TornadoMath.max(m, tileMax);
                float rescale = TornadoMath.exp(m - newMax);
                float sum = 0f;
                for (int j = 0; j < keys; j++) {
                    float p = j < allowed ? TornadoMath.exp(ps[lid * (block + 1) + j] - newMax) : 0f;
                    ps[lid * (block + 1) + j] = p;
                    sum += p;
                }
                maxes[lid] = newMax;
                sums[lid] = sums[lid] * rescale + sum;
                rescales[lid] = rescale;
            }
            c.localBarrier();
            if (ol < qLanes) {
                for (int x = 0; x < 4; x++) {
                    float r = rescales[ol + qLanes * x];
                    for (int y = 0; y < 4; y++) acc[x * 4 + y] *= r;
                }
                for (int j = 0; j < keys; j++) {
                    for (int x = 0; x < 4; x++) p4[x] = ps[(ol + qLanes * x) * (block + 1) + j];
                    for (int y = 0; y < 4; y++) v4[y] = dl + dLanes * y < hd ? vs[j * pad + dl + dLanes * y] : 0f;
                    for (int x = 0; x < 4; x++) {
                        for (int y = 0; y < 4; y++) acc[x * 4 + y] += p4[x] * v4[y];
                    }
                }
            }
        }
        if (ol < qLanes) {
            int outBase = a.get(0), outArena = a.get(ARENA);
            for (int x = 0; x < 4; x++) {
                int t = q0 + ol + qLanes * x;
                if (t < T) {
                    float inv = 1f / sums[ol + qLanes * x];
                    int at = (b * T + t) * qStride + h * hd;
                    for (int y = 0; y < 4; y++) {
                        int d = dl + dLanes * y;
                        if (d < hd) store(m0, m1, m2, m3, m4, m5, m6, m7, outArena, outBase + at + d, acc[x * 4 + y] * inv);
                    }
                }
            }
        }
        if (lid < block && q0 + lid < T) {
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + (b * heads + h) * T + q0 + lid,
                    maxes[lid] + TornadoMath.log(sums[lid]));
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

    /**
     * dQ for a block of queries of one (sequence, head), {@link #THREADS} threads: per key tile, the
     * scores and their gradients, then {@code dQ += dS K} with each thread holding 4 queries x 4 dims in registers.
     * {@code a}: dq, dout, lse, D, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale.
     */
    static void backwardQuery(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                              FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] qs = c.allocateFloatLocalArray(STAGED);
        float[] dos = c.allocateFloatLocalArray(STAGED);
        float[] ks = c.allocateFloatLocalArray(STAGED);
        float[] vs = c.allocateFloatLocalArray(STAGED);
        float[] ps = c.allocateFloatLocalArray(SCORES);
        float[] dss = c.allocateFloatLocalArray(SCORES);
        float[] ls = c.allocateFloatLocalArray(BLOCK_MAX);
        float[] dd = c.allocateFloatLocalArray(BLOCK_MAX);
        int lid = c.localIdx, g = c.groupIdx;
        int T = a.get(8), heads = a.get(9), kvHeads = a.get(10), hd = a.get(11);
        int block = block(hd), pad = hd + 1;
        int nqb = (T + block - 1) / block;
        int qb = g % nqb, bh = g / nqb;
        int h = bh % heads, b = bh / heads;
        int kvh = h / (heads / kvHeads);
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int q0 = qb * block;
        int qBase = a.get(4), doBase = a.get(1), qArena = a.get(ARENA + 4), doArena = a.get(ARENA + 1);
        for (int e = lid; e < block * hd; e += THREADS) {
            int i = e / hd, d = e % hd, t = q0 + i;
            float qv = 0f, ov = 0f;
            if (t < T) {
                int at = (b * T + t) * qStride + h * hd + d;
                qv = load(m0, m1, m2, m3, m4, m5, m6, m7, qArena, qBase + at);
                ov = load(m0, m1, m2, m3, m4, m5, m6, m7, doArena, doBase + at);
            }
            qs[i * pad + d] = qv;
            dos[i * pad + d] = ov;
        }
        if (lid < block) {
            int t = q0 + lid;
            float lv = 0f, dv = 0f;
            if (t < T) {
                lv = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 2), a.get(2) + (b * heads + h) * T + t);
                dv = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 3), a.get(3) + (b * heads + h) * T + t);
            }
            ls[lid] = lv;
            dd[lid] = dv;
        }
        int dLanes = (hd + 3) / 4, qLanes = block / 4;
        int dl = lid % dLanes, ol = lid / dLanes;
        int sl = lid / KEY_LANES, kl = lid % KEY_LANES;
        int rows = block / QUERY_LANES;
        int cols = kl < block ? (block + KEY_LANES - 1) / KEY_LANES : 0;
        float[] dq = new float[16];
        float[] x4 = new float[4];
        float[] y4 = new float[4];
        float[] s8 = new float[8];
        float[] dp8 = new float[8];
        float[] ds4 = new float[4];
        float[] k4 = new float[4];
        for (int x = 0; x < 16; x++) dq[x] = 0f;
        int lastKey = q0 + block - 1;
        if (lastKey > T - 1) lastKey = T - 1;
        int kBase = a.get(5), vBase = a.get(6), kArena = a.get(ARENA + 5), vArena = a.get(ARENA + 6);
        for (int k0 = 0; k0 <= lastKey; k0 += block) {
            c.localBarrier();
            for (int e = lid; e < block * hd; e += THREADS) {
                int j = e / hd, d = e % hd, s = k0 + j;
                float kv = 0f, vv = 0f;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd + d;
                    kv = load(m0, m1, m2, m3, m4, m5, m6, m7, kArena, kBase + at);
                    vv = load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vBase + at);
                }
                ks[j * pad + d] = kv;
                vs[j * pad + d] = vv;
            }
            c.localBarrier();
            // The scores and their gradients, P and dS = P (dO.v - D) scale, this thread's 4 x 2 of each.
            for (int e = 0; e < 8; e++) {
                s8[e] = 0f;
                dp8[e] = 0f;
            }
            for (int d = 0; d < hd; d++) {
                for (int i = 0; i < 4; i++) {
                    if (i < rows) {
                        x4[i] = qs[(sl + QUERY_LANES * i) * pad + d];
                        y4[i] = dos[(sl + QUERY_LANES * i) * pad + d];
                    }
                }
                for (int j = 0; j < 2; j++) {
                    if (j < cols) {
                        float kv = ks[(kl + KEY_LANES * j) * pad + d];
                        float vv = vs[(kl + KEY_LANES * j) * pad + d];
                        for (int i = 0; i < 4; i++) {
                            if (i < rows) {
                                s8[i * 2 + j] += x4[i] * kv;
                                dp8[i * 2 + j] += y4[i] * vv;
                            }
                        }
                    }
                }
            }
            for (int i = 0; i < 4; i++) {
                if (i < rows) {
                    int qi = sl + QUERY_LANES * i, t = q0 + qi;
                    for (int j = 0; j < 2; j++) {
                        if (j < cols) {
                            int kj = kl + KEY_LANES * j;
                            float p = 0f, ds = 0f;
                            if (t < T && k0 + kj <= t) {
                                p = TornadoMath.exp(s8[i * 2 + j] * scale - ls[qi]);
                                ds = p * (dp8[i * 2 + j] - dd[qi]) * scale;
                            }
                            ps[qi * (block + 1) + kj] = p;
                            dss[qi * (block + 1) + kj] = ds;
                        }
                    }
                }
            }
            c.localBarrier();
            if (ol < qLanes) {
                int keys = lastKey - k0 + 1;
                if (keys > block) keys = block;
                for (int j = 0; j < keys; j++) {
                    for (int x = 0; x < 4; x++) ds4[x] = dss[(ol + qLanes * x) * (block + 1) + j];
                    for (int y = 0; y < 4; y++) k4[y] = dl + dLanes * y < hd ? ks[j * pad + dl + dLanes * y] : 0f;
                    for (int x = 0; x < 4; x++) {
                        for (int y = 0; y < 4; y++) dq[x * 4 + y] += ds4[x] * k4[y];
                    }
                }
            }
        }
        if (ol < qLanes) {
            int dqBase = a.get(0), dqArena = a.get(ARENA);
            for (int x = 0; x < 4; x++) {
                int t = q0 + ol + qLanes * x;
                if (t < T) {
                    int at = (b * T + t) * qStride + h * hd;
                    for (int y = 0; y < 4; y++) {
                        int d = dl + dLanes * y;
                        if (d < hd) store(m0, m1, m2, m3, m4, m5, m6, m7, dqArena, dqBase + at + d, dq[x * 4 + y]);
                    }
                }
            }
        }
    }

    /**
     * dK and dV for a block of keys of one (sequence, kv head), summing over the query heads that share it,
     * {@link #THREADS} threads: per query tile, the scores and their gradients, then {@code dV += P^T dO}
     * and {@code dK += dS^T Q} with each thread holding 4 keys x 4 dims of both in registers. {@code a}: dk, dv,
     * dout, lse, D, q, k, v, batch, T, heads, kvHeads, hd; {@code f}: scale.
     */
    static void backwardKeyValue(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                                 FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] ks = c.allocateFloatLocalArray(STAGED);
        float[] vs = c.allocateFloatLocalArray(STAGED);
        float[] qs = c.allocateFloatLocalArray(STAGED);
        float[] dos = c.allocateFloatLocalArray(STAGED);
        float[] ps = c.allocateFloatLocalArray(SCORES);
        float[] dss = c.allocateFloatLocalArray(SCORES);
        float[] ls = c.allocateFloatLocalArray(BLOCK_MAX);
        float[] dd = c.allocateFloatLocalArray(BLOCK_MAX);
        int lid = c.localIdx, g = c.groupIdx;
        int T = a.get(9), heads = a.get(10), kvHeads = a.get(11), hd = a.get(12);
        int block = block(hd), pad = hd + 1;
        int nkb = (T + block - 1) / block;
        int kb = g % nkb, bk = g / nkb;
        int kvh = bk % kvHeads, b = bk / kvHeads;
        int group = heads / kvHeads;
        int qStride = heads * hd, kvStride = kvHeads * hd;
        float scale = f.get(0);
        int k0 = kb * block;
        int kBase = a.get(6), vBase = a.get(7), qBase = a.get(5), doBase = a.get(2);
        int kArena = a.get(ARENA + 6), vArena = a.get(ARENA + 7), qArena = a.get(ARENA + 5), doArena = a.get(ARENA + 2);
        int lseArena = a.get(ARENA + 3), dArena = a.get(ARENA + 4);
        for (int e = lid; e < block * hd; e += THREADS) {
            int j = e / hd, d = e % hd, s = k0 + j;
            float kv = 0f, vv = 0f;
            if (s < T) {
                int at = (b * T + s) * kvStride + kvh * hd + d;
                kv = load(m0, m1, m2, m3, m4, m5, m6, m7, kArena, kBase + at);
                vv = load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vBase + at);
            }
            ks[j * pad + d] = kv;
            vs[j * pad + d] = vv;
        }
        int dLanes = (hd + 3) / 4, kLanes = block / 4;
        int dl = lid % dLanes, ol = lid / dLanes;
        int sl = lid / KEY_LANES, kl = lid % KEY_LANES;
        int rows = block / QUERY_LANES;
        int cols = kl < block ? (block + KEY_LANES - 1) / KEY_LANES : 0;
        float[] dk = new float[16];
        float[] x4 = new float[4];
        float[] y4 = new float[4];
        float[] s8 = new float[8];
        float[] dp8 = new float[8];
        float[] dv = new float[16];
        float[] p4 = new float[4];
        float[] ds4 = new float[4];
        float[] o4 = new float[4];
        float[] q4 = new float[4];
        for (int x = 0; x < 16; x++) {
            dk[x] = 0f;
            dv[x] = 0f;
        }
        for (int h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int q0 = k0; q0 < T; q0 += block) {
                c.localBarrier();
                for (int e = lid; e < block * hd; e += THREADS) {
                    int i = e / hd, d = e % hd, t = q0 + i;
                    float qv = 0f, ov = 0f;
                    if (t < T) {
                        int at = (b * T + t) * qStride + h * hd + d;
                        qv = load(m0, m1, m2, m3, m4, m5, m6, m7, qArena, qBase + at);
                        ov = load(m0, m1, m2, m3, m4, m5, m6, m7, doArena, doBase + at);
                    }
                    qs[i * pad + d] = qv;
                    dos[i * pad + d] = ov;
                }
                if (lid < block) {
                    int t = q0 + lid;
                    float lv = 0f, dv1 = 0f;
                    if (t < T) {
                        lv = load(m0, m1, m2, m3, m4, m5, m6, m7, lseArena, a.get(3) + (b * heads + h) * T + t);
                        dv1 = load(m0, m1, m2, m3, m4, m5, m6, m7, dArena, a.get(4) + (b * heads + h) * T + t);
                    }
                    ls[lid] = lv;
                    dd[lid] = dv1;
                }
                c.localBarrier();
                // The scores and their gradients, P and dS = P (dO.v - D) scale, this thread's 4 x 2 of each.
            for (int e = 0; e < 8; e++) {
                s8[e] = 0f;
                dp8[e] = 0f;
            }
            for (int d = 0; d < hd; d++) {
                for (int i = 0; i < 4; i++) {
                    if (i < rows) {
                        x4[i] = qs[(sl + QUERY_LANES * i) * pad + d];
                        y4[i] = dos[(sl + QUERY_LANES * i) * pad + d];
                    }
                }
                for (int j = 0; j < 2; j++) {
                    if (j < cols) {
                        float kv = ks[(kl + KEY_LANES * j) * pad + d];
                        float vv = vs[(kl + KEY_LANES * j) * pad + d];
                        for (int i = 0; i < 4; i++) {
                            if (i < rows) {
                                s8[i * 2 + j] += x4[i] * kv;
                                dp8[i * 2 + j] += y4[i] * vv;
                            }
                        }
                    }
                }
            }
            for (int i = 0; i < 4; i++) {
                if (i < rows) {
                    int qi = sl + QUERY_LANES * i, t = q0 + qi;
                    for (int j = 0; j < 2; j++) {
                        if (j < cols) {
                            int kj = kl + KEY_LANES * j;
                            float p = 0f, ds = 0f;
                            if (t < T && k0 + kj <= t) {
                                p = TornadoMath.exp(s8[i * 2 + j] * scale - ls[qi]);
                                ds = p * (dp8[i * 2 + j] - dd[qi]) * scale;
                            }
                            ps[qi * (block + 1) + kj] = p;
                            dss[qi * (block + 1) + kj] = ds;
                        }
                    }
                }
            }
                c.localBarrier();
                if (ol < kLanes) {
                    int queries = T - q0;
                    if (queries > block) queries = block;
                    for (int i = 0; i < queries; i++) {
                        for (int x = 0; x < 4; x++) {
                            p4[x] = ps[i * (block + 1) + ol + kLanes * x];
                            ds4[x] = dss[i * (block + 1) + ol + kLanes * x];
                        }
                        for (int y = 0; y < 4; y++) {
                            int d = dl + dLanes * y;
                            o4[y] = d < hd ? dos[i * pad + d] : 0f;
                            q4[y] = d < hd ? qs[i * pad + d] : 0f;
                        }
                        for (int x = 0; x < 4; x++) {
                            for (int y = 0; y < 4; y++) {
                                dv[x * 4 + y] += p4[x] * o4[y];
                                dk[x * 4 + y] += ds4[x] * q4[y];
                            }
                        }
                    }
                }
            }
        }
        if (ol < kLanes) {
            int dkBase = a.get(0), dvBase = a.get(1), dkArena = a.get(ARENA), dvArena = a.get(ARENA + 1);
            for (int x = 0; x < 4; x++) {
                int s = k0 + ol + kLanes * x;
                if (s < T) {
                    int at = (b * T + s) * kvStride + kvh * hd;
                    for (int y = 0; y < 4; y++) {
                        int d = dl + dLanes * y;
                        if (d < hd) {
                            store(m0, m1, m2, m3, m4, m5, m6, m7, dkArena, dkBase + at + d, dk[x * 4 + y]);
                            store(m0, m1, m2, m3, m4, m5, m6, m7, dvArena, dvBase + at + d, dv[x * 4 + y]);
                        }
                    }
                }
            }
        }
    }
}
