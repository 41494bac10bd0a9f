package dev.jllama.tornado;

import static dev.jllama.tornado.ArenaMemory.ARENA;
import static dev.jllama.tornado.ArenaMemory.load;
import static dev.jllama.tornado.ArenaMemory.store;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The elementwise, normalisation, embedding, loss, reduction and optimizer kernels. Every kernel has the same
 * leading parameters: the float arenas {@code m0 .. m7} (see {@link ArenaMemory}), the int arena {@code imem},
 * and the per-call integer and float arguments {@code a} / {@code f} (tensor offsets, their arenas and sizes),
 * so that one compiled kernel serves every tensor and shape; TornadoVM would otherwise specialise scalars into
 * the compiled code. Float operand {@code k} is at offset {@code a[k]} of arena {@code a[ARENA + k]}.
 */
final class Kernels {
    /** Work-group size of the kernels that reduce one row per work-group. */
    static final int ROW_GROUP = 256;
    /** Work-group size of the grid-stride reductions. */
    static final int REDUCE_GROUP = 256;

    private Kernels() {}

    // ---- data movement ----

    static void writeInts(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, IntArray stage) {
        int i = c.globalIdx;
        if (i < a.get(1)) imem.set(a.get(0) + i, stage.get(i));
    }

    static void zero(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(1)) store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + i, 0f);
    }

    static void copy(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(2)) {
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + i, load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + i));
        }
    }

    static void add(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int dst = a.get(0), dstArena = a.get(ARENA);
        if (i < a.get(2)) {
            store(m0, m1, m2, m3, m4, m5, m6, m7, dstArena, dst + i, load(m0, m1, m2, m3, m4, m5, m6, m7, dstArena, dst + i) + load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + i));
        }
    }

    static void scale(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int at = a.get(0), arena = a.get(ARENA);
        if (i < a.get(1)) store(m0, m1, m2, m3, m4, m5, m6, m7, arena, at + i, load(m0, m1, m2, m3, m4, m5, m6, m7, arena, at + i) * f.get(0));
    }

    // ---- SwiGLU ----

    static void swiglu(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(3)) {
            float g = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + i);
            float u = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 2), a.get(2) + i);
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + i, g / (1f + TornadoMath.exp(-g)) * u);
        }
    }

    static void swigluBackward(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(5)) {
            float g = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 3), a.get(3) + i);
            float u = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 4), a.get(4) + i);
            float dy = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 2), a.get(2) + i);
            float sigmoid = 1f / (1f + TornadoMath.exp(-g));
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + i, dy * g * sigmoid);
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + i, dy * u * sigmoid * (1f + g * (1f - sigmoid)));
        }
    }

    // ---- RoPE ----

    /** One thread per rotated pair; {@code a}: x, table, rows, seqLen, heads, headDim, inverse. */
    static void rope(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int rows = a.get(2), seqLen = a.get(3), heads = a.get(4), headDim = a.get(5);
        int half = headDim / 2;
        if (i < rows * heads * half) {
            int j = i % half;
            int h = (i / half) % heads;
            int row = i / (half * heads);
            int pos = row % seqLen;
            int t = a.get(1) + (pos * half + j) * 2;
            int tableArena = a.get(ARENA + 1), xArena = a.get(ARENA);
            float cos = load(m0, m1, m2, m3, m4, m5, m6, m7, tableArena, t);
            float sin = load(m0, m1, m2, m3, m4, m5, m6, m7, tableArena, t + 1);
            if (a.get(6) != 0) sin = -sin;
            int at = a.get(0) + row * heads * headDim + h * headDim + 2 * j;
            float x0 = load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, at), x1 = load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, at + 1);
            store(m0, m1, m2, m3, m4, m5, m6, m7, xArena, at, x0 * cos - x1 * sin);
            store(m0, m1, m2, m3, m4, m5, m6, m7, xArena, at + 1, x0 * sin + x1 * cos);
        }
    }

    // ---- RMSNorm ----

    /** One work-group per row; {@code a}: out, rstd, x, gain, rows, dim; {@code f}: eps. */
    static void rmsnorm(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] part = c.allocateFloatLocalArray(ROW_GROUP);
        int row = c.groupIdx, lid = c.localIdx;
        int dim = a.get(5);
        int x = a.get(2) + row * dim, xArena = a.get(ARENA + 2);
        float s = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            float v = load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, x + i);
            s += v * v;
        }
        part[lid] = s;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        float inv = 1f / TornadoMath.sqrt(part[0] / dim + f.get(0));
        if (lid == 0) store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + row, inv);
        int out = a.get(0) + row * dim, gain = a.get(3), outArena = a.get(ARENA), gainArena = a.get(ARENA + 3);
        for (int i = lid; i < dim; i += ROW_GROUP) {
            store(m0, m1, m2, m3, m4, m5, m6, m7, outArena, out + i, load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, x + i) * inv * load(m0, m1, m2, m3, m4, m5, m6, m7, gainArena, gain + i));
        }
    }

    /** dx += inv*g*dy - inv^3/dim * x * sum(g*dy*x), one work-group per row; {@code a}: dx, dout, x, gain, rstd, dim. */
    static void rmsnormBackwardInput(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] part = c.allocateFloatLocalArray(ROW_GROUP);
        int row = c.groupIdx, lid = c.localIdx;
        int dim = a.get(5);
        int dx = a.get(0) + row * dim, dy = a.get(1) + row * dim, x = a.get(2) + row * dim, g = a.get(3);
        int dxArena = a.get(ARENA), dyArena = a.get(ARENA + 1), xArena = a.get(ARENA + 2), gArena = a.get(ARENA + 3);
        float s = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            s += load(m0, m1, m2, m3, m4, m5, m6, m7, gArena, g + i) * load(m0, m1, m2, m3, m4, m5, m6, m7, dyArena, dy + i) * load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, x + i);
        }
        part[lid] = s;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        float inv = load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 4), a.get(4) + row);
        float coeff = inv * inv * inv * part[0] / dim;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            float old = load(m0, m1, m2, m3, m4, m5, m6, m7, dxArena, dx + i);
            float gi = load(m0, m1, m2, m3, m4, m5, m6, m7, gArena, g + i);
            float dyi = load(m0, m1, m2, m3, m4, m5, m6, m7, dyArena, dy + i);
            float xi = load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, x + i);
            store(m0, m1, m2, m3, m4, m5, m6, m7, dxArena, dx + i, old + inv * gi * dyi - coeff * xi);
        }
    }

    /**
     * Partial gain gradients over chunks of rows, one thread per (chunk, column), written to
     * {@code partial[chunk * dim + column]}; {@code a}: partial, dout, x, rstd, rows, dim, chunkRows, chunks.
     */
    static void rmsnormGainPartial(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int gid = c.globalIdx;
        int rows = a.get(4), dim = a.get(5), chunkRows = a.get(6);
        if (gid < dim * a.get(7)) {
            int col = gid % dim, chunk = gid / dim;
            int dy = a.get(1), x = a.get(2), rstd = a.get(3);
            int dyArena = a.get(ARENA + 1), xArena = a.get(ARENA + 2), rstdArena = a.get(ARENA + 3);
            int end = (chunk + 1) * chunkRows;
            if (end > rows) end = rows;
            float s = 0f;
            for (int r = chunk * chunkRows; r < end; r++) {
                s += load(m0, m1, m2, m3, m4, m5, m6, m7, dyArena, dy + r * dim + col) * load(m0, m1, m2, m3, m4, m5, m6, m7, xArena, x + r * dim + col)
                        * load(m0, m1, m2, m3, m4, m5, m6, m7, rstdArena, rstd + r);
            }
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + chunk * dim + col, s);
        }
    }

    /** {@code dst[i] += sum_c partial[c * n + i]}, in chunk order; {@code a}: dst, partial, n, chunks. */
    static void columnSumAdd(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int n = a.get(2);
        if (i < n) {
            int partial = a.get(1), partialArena = a.get(ARENA + 1), dstArena = a.get(ARENA);
            float s = 0f;
            for (int chunk = 0; chunk < a.get(3); chunk++) s += load(m0, m1, m2, m3, m4, m5, m6, m7, partialArena, partial + chunk * n + i);
            store(m0, m1, m2, m3, m4, m5, m6, m7, dstArena, a.get(0) + i, load(m0, m1, m2, m3, m4, m5, m6, m7, dstArena, a.get(0) + i) + s);
        }
    }

    // ---- embedding and loss ----

    /** {@code a}: out, table, tokens (int arena), rows, dim. */
    static void embedding(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int dim = a.get(4);
        if (i < a.get(3) * dim) {
            int row = i / dim, col = i % dim;
            int id = imem.get(a.get(2) + row);
            store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + i, load(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA + 1), a.get(1) + id * dim + col));
        }
    }

    /**
     * {@code dtable[token] += sum of dout rows with that token}, one thread per (distinct token, column), adding
     * the rows in ascending order; {@code a}: dtable, dout, distinct tokens, group starts, rows by token (all
     * three in the int arena), distinct count, dim.
     */
    static void embeddingBackward(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int gid = c.globalIdx;
        int dim = a.get(6);
        if (gid < a.get(5) * dim) {
            int u = gid / dim, col = gid % dim;
            int token = imem.get(a.get(2) + u);
            int starts = a.get(3), order = a.get(4), dy = a.get(1);
            int at = a.get(0) + token * dim + col, tableArena = a.get(ARENA), dyArena = a.get(ARENA + 1);
            float acc = load(m0, m1, m2, m3, m4, m5, m6, m7, tableArena, at);
            for (int p = imem.get(starts + u); p < imem.get(starts + u + 1); p++) {
                acc += load(m0, m1, m2, m3, m4, m5, m6, m7, dyArena, dy + imem.get(order + p) * dim + col);
            }
            store(m0, m1, m2, m3, m4, m5, m6, m7, tableArena, at, acc);
        }
    }

    /**
     * Softmax cross-entropy, one work-group per row: loss to {@code losses[row]}, gradient over the logits in
     * place; {@code a}: losses, logits, targets (int arena), rows, vocab; {@code f}: gradScale.
     */
    static void crossEntropy(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] part = c.allocateFloatLocalArray(ROW_GROUP);
        int row = c.groupIdx, lid = c.localIdx;
        int vocab = a.get(4);
        int z = a.get(1) + row * vocab, zArena = a.get(ARENA + 1);
        int target = imem.get(a.get(2) + row);
        float gradScale = f.get(0);
        float m = -3.0e38f;
        for (int i = lid; i < vocab; i += ROW_GROUP) m = TornadoMath.max(m, load(m0, m1, m2, m3, m4, m5, m6, m7, zArena, z + i));
        part[lid] = m;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] = TornadoMath.max(part[lid], part[lid + stride]);
            c.localBarrier();
        }
        float max = part[0];
        c.localBarrier();
        float s = 0f;
        for (int i = lid; i < vocab; i += ROW_GROUP) s += TornadoMath.exp(load(m0, m1, m2, m3, m4, m5, m6, m7, zArena, z + i) - max);
        part[lid] = s;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        float sum = part[0];
        float targetLogit = 0f;
        if (target >= 0) targetLogit = load(m0, m1, m2, m3, m4, m5, m6, m7, zArena, z + target) - max;
        // Everyone has read the target logit before anyone overwrites it.
        c.localBarrier();
        if (lid == 0) store(m0, m1, m2, m3, m4, m5, m6, m7, a.get(ARENA), a.get(0) + row, target < 0 ? 0f : TornadoMath.log(sum) - targetLogit);
        float inv = gradScale / sum;
        for (int i = lid; i < vocab; i += ROW_GROUP) {
            float g = 0f;
            if (target >= 0) {
                g = TornadoMath.exp(load(m0, m1, m2, m3, m4, m5, m6, m7, zArena, z + i) - max) * inv;
                if (i == target) g -= gradScale;
            }
            store(m0, m1, m2, m3, m4, m5, m6, m7, zArena, z + i, g);
        }
    }

    // ---- reductions and optimizer ----

    /**
     * Grid-stride partial sums (or sums of squares when {@code a[2] != 0}) of {@code mem[a[0] ..+ a[1]]}, one
     * per work-group into {@code partial[group]}; the host adds the partials in double precision.
     */
    static void reduce(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, FloatArray partial) {
        float[] part = c.allocateFloatLocalArray(REDUCE_GROUP);
        int lid = c.localIdx;
        int at = a.get(0), n = a.get(1), squares = a.get(2), arena = a.get(ARENA);
        int threads = c.globalGroupSizeX;
        float s = 0f;
        for (int i = c.globalIdx; i < n; i += threads) {
            float v = load(m0, m1, m2, m3, m4, m5, m6, m7, arena, at + i);
            s += squares != 0 ? v * v : v;
        }
        part[lid] = s;
        c.localBarrier();
        for (int stride = REDUCE_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        if (lid == 0) partial.set(c.groupIdx, part[0]);
    }

    /** {@code a}: param, grad, m, v, n; {@code f}: lr, beta1, beta2, eps, decay factor, bc1, sqrt(bc2), gradScale. */
    static void adamw(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(4)) {
            int p = a.get(0) + i, gi = a.get(1) + i, mi = a.get(2) + i, vi = a.get(3) + i;
            int pArena = a.get(ARENA), gArena = a.get(ARENA + 1), mArena = a.get(ARENA + 2), vArena = a.get(ARENA + 3);
            float lr = f.get(0), b1 = f.get(1), b2 = f.get(2), eps = f.get(3);
            float g = load(m0, m1, m2, m3, m4, m5, m6, m7, gArena, gi) * f.get(7);
            float m = b1 * load(m0, m1, m2, m3, m4, m5, m6, m7, mArena, mi) + (1f - b1) * g;
            float v = b2 * load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vi) + (1f - b2) * g * g;
            store(m0, m1, m2, m3, m4, m5, m6, m7, mArena, mi, m);
            store(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vi, v);
            float param = load(m0, m1, m2, m3, m4, m5, m6, m7, pArena, p);
            store(m0, m1, m2, m3, m4, m5, m6, m7, pArena, p, param * f.get(4) - lr * (m / f.get(5)) / (TornadoMath.sqrt(v) / f.get(6) + eps));
        }
    }

    // ---- multi-tensor: one launch over a list of tensors ----
    // The list is a table of T entries: [0, T] the running element counts (entry t starts at table[t], the list
    // ends at table[T]), then per operand k its T offsets at [T+1+2k*T, T+1+(2k+1)*T) followed by their T arenas
    // (offset(table, T, k, t), arena(table, T, k, t)). a.get(0) is T.

    /** The entry of the list that element {@code i} (of the list's concatenation) falls in: a binary search. */
    static int entryOf(IntArray table, int tensors, int i) {
        int low = 0, high = tensors - 1;
        while (low < high) {
            int mid = (low + high + 1) / 2;
            if (table.get(mid) <= i) low = mid;
            else high = mid - 1;
        }
        return low;
    }

    /** The offset of operand {@code k}'s tensor {@code t} in a list of {@code tensors}. */
    static int offset(IntArray table, int tensors, int k, int t) {
        return table.get(tensors + 1 + 2 * k * tensors + t);
    }

    /** The arena of operand {@code k}'s tensor {@code t} in a list of {@code tensors}. */
    static int arena(IntArray table, int tensors, int k, int t) {
        return table.get(tensors + 1 + (2 * k + 1) * tensors + t);
    }

    /** Zeroes every tensor of the list; one thread per element. */
    static void zeroList(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, IntArray table) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            store(m0, m1, m2, m3, m4, m5, m6, m7, arena(table, tensors, 0, t), offset(table, tensors, 0, t) + i - table.get(t), 0f);
        }
    }

    /** Copies every tensor of the list into {@code stage}, one after another (a read of many tensors); one thread per element. */
    static void gatherList(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, IntArray table,
                           FloatArray stage) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            stage.set(i, load(m0, m1, m2, m3, m4, m5, m6, m7, arena(table, tensors, 0, t),
                    offset(table, tensors, 0, t) + i - table.get(t)));
        }
    }

    /** Copies {@code stage} into every tensor of the list, one after another (a write of many tensors); one thread per element. */
    static void scatterList(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, IntArray table,
                            FloatArray stage) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            store(m0, m1, m2, m3, m4, m5, m6, m7, arena(table, tensors, 0, t),
                    offset(table, tensors, 0, t) + i - table.get(t), stage.get(i));
        }
    }

    /**
     * Sums of squares of every tensor of the list: {@code a.get(1)} work-groups per tensor, group g summing a
     * grid-stride share of tensor {@code g / a.get(1)} into {@code partial[g]}.
     */
    static void sumOfSquaresList(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, IntArray table,
                                 FloatArray partial) {
        float[] part = c.allocateFloatLocalArray(REDUCE_GROUP);
        int lid = c.localIdx;
        int tensors = a.get(0), groupsPerTensor = a.get(1);
        int t = c.groupIdx / groupsPerTensor, share = c.groupIdx % groupsPerTensor;
        float s = 0f;
        if (t < tensors) {
            int at = offset(table, tensors, 0, t), arena = arena(table, tensors, 0, t);
            int n = table.get(t + 1) - table.get(t);
            for (int i = share * REDUCE_GROUP + lid; i < n; i += groupsPerTensor * REDUCE_GROUP) {
                float v = load(m0, m1, m2, m3, m4, m5, m6, m7, arena, at + i);
                s += v * v;
            }
        }
        part[lid] = s;
        c.localBarrier();
        for (int stride = REDUCE_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        if (lid == 0) partial.set(c.groupIdx, part[0]);
    }

    /**
     * AdamW on every (param, grad, m, v) of the list (operands 0..3 of the table), one thread per element;
     * {@code f} as in {@link #adamw} but for the decay factor, which is per tensor: {@code decay[t]}.
     */
    static void adamwList(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3,
            FloatArray m4, FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f, IntArray table,
                          FloatArray decay) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            int e = i - table.get(t);
            int p = offset(table, tensors, 0, t) + e, gi = offset(table, tensors, 1, t) + e;
            int mi = offset(table, tensors, 2, t) + e, vi = offset(table, tensors, 3, t) + e;
            int pArena = arena(table, tensors, 0, t), gArena = arena(table, tensors, 1, t);
            int mArena = arena(table, tensors, 2, t), vArena = arena(table, tensors, 3, t);
            float lr = f.get(0), b1 = f.get(1), b2 = f.get(2), eps = f.get(3);
            float g = load(m0, m1, m2, m3, m4, m5, m6, m7, gArena, gi) * f.get(7);
            float m = b1 * load(m0, m1, m2, m3, m4, m5, m6, m7, mArena, mi) + (1f - b1) * g;
            float v = b2 * load(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vi) + (1f - b2) * g * g;
            store(m0, m1, m2, m3, m4, m5, m6, m7, mArena, mi, m);
            store(m0, m1, m2, m3, m4, m5, m6, m7, vArena, vi, v);
            float param = load(m0, m1, m2, m3, m4, m5, m6, m7, pArena, p);
            store(m0, m1, m2, m3, m4, m5, m6, m7, pArena, p, param * decay.get(t) - lr * (m / f.get(5)) / (TornadoMath.sqrt(v) / f.get(6) + eps));
        }
    }
}
