package dev.jllama.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The elementwise, normalisation, embedding, loss, reduction and optimizer kernels. Every kernel has the same
 * leading parameters: the float arena {@code mem}, the int arena {@code imem}, and the per-call integer and
 * float arguments {@code a} / {@code f} (tensor offsets and sizes), so that one compiled kernel serves every
 * tensor and shape; TornadoVM would otherwise specialise scalars into the compiled code.
 */
final class Kernels {
    /** Work-group size of the kernels that reduce one row per work-group. */
    static final int ROW_GROUP = 256;
    /** Work-group size of the grid-stride reductions. */
    static final int REDUCE_GROUP = 256;

    private Kernels() {}

    // ---- data movement ----

    static void writeFloats(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, FloatArray stage) {
        int i = c.globalIdx;
        if (i < a.get(1)) mem.set(a.get(0) + i, stage.get(i));
    }

    static void readFloats(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, FloatArray stage) {
        int i = c.globalIdx;
        if (i < a.get(1)) stage.set(i, mem.get(a.get(0) + i));
    }

    static void writeInts(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, IntArray stage) {
        int i = c.globalIdx;
        if (i < a.get(1)) imem.set(a.get(0) + i, stage.get(i));
    }

    static void zero(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(1)) mem.set(a.get(0) + i, 0f);
    }

    static void copy(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(2)) mem.set(a.get(0) + i, mem.get(a.get(1) + i));
    }

    static void add(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int dst = a.get(0);
        if (i < a.get(2)) mem.set(dst + i, mem.get(dst + i) + mem.get(a.get(1) + i));
    }

    static void scale(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int at = a.get(0);
        if (i < a.get(1)) mem.set(at + i, mem.get(at + i) * f.get(0));
    }

    // ---- SwiGLU ----

    static void swiglu(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(3)) {
            float g = mem.get(a.get(1) + i);
            mem.set(a.get(0) + i, g / (1f + TornadoMath.exp(-g)) * mem.get(a.get(2) + i));
        }
    }

    static void swigluBackward(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(5)) {
            float g = mem.get(a.get(3) + i);
            float u = mem.get(a.get(4) + i);
            float dy = mem.get(a.get(2) + i);
            float sigmoid = 1f / (1f + TornadoMath.exp(-g));
            mem.set(a.get(1) + i, dy * g * sigmoid);
            mem.set(a.get(0) + i, dy * u * sigmoid * (1f + g * (1f - sigmoid)));
        }
    }

    // ---- RoPE ----

    /** One thread per rotated pair; {@code a}: x, table, rows, seqLen, heads, headDim, inverse. */
    static void rope(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int rows = a.get(2), seqLen = a.get(3), heads = a.get(4), headDim = a.get(5);
        int half = headDim / 2;
        if (i < rows * heads * half) {
            int j = i % half;
            int h = (i / half) % heads;
            int row = i / (half * heads);
            int pos = row % seqLen;
            int t = a.get(1) + (pos * half + j) * 2;
            float cos = mem.get(t);
            float sin = mem.get(t + 1);
            if (a.get(6) != 0) sin = -sin;
            int at = a.get(0) + row * heads * headDim + h * headDim + 2 * j;
            float x0 = mem.get(at), x1 = mem.get(at + 1);
            mem.set(at, x0 * cos - x1 * sin);
            mem.set(at + 1, x0 * sin + x1 * cos);
        }
    }

    // ---- RMSNorm ----

    /** One work-group per row; {@code a}: out, rstd, x, gain, rows, dim; {@code f}: eps. */
    static void rmsnorm(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        float[] part = c.allocateFloatLocalArray(ROW_GROUP);
        int row = c.groupIdx, lid = c.localIdx;
        int dim = a.get(5);
        int x = a.get(2) + row * dim;
        float s = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            float v = mem.get(x + i);
            s += v * v;
        }
        part[lid] = s;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        float inv = 1f / TornadoMath.sqrt(part[0] / dim + f.get(0));
        if (lid == 0) mem.set(a.get(1) + row, inv);
        int out = a.get(0) + row * dim, gain = a.get(3);
        for (int i = lid; i < dim; i += ROW_GROUP) mem.set(out + i, mem.get(x + i) * inv * mem.get(gain + i));
    }

    /** dx += inv*g*dy - inv^3/dim * x * sum(g*dy*x), one work-group per row; {@code a}: dx, dout, x, gain, rstd, dim. */
    static void rmsnormBackwardInput(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        float[] part = c.allocateFloatLocalArray(ROW_GROUP);
        int row = c.groupIdx, lid = c.localIdx;
        int dim = a.get(5);
        int dx = a.get(0) + row * dim, dy = a.get(1) + row * dim, x = a.get(2) + row * dim, g = a.get(3);
        float s = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) s += mem.get(g + i) * mem.get(dy + i) * mem.get(x + i);
        part[lid] = s;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        float inv = mem.get(a.get(4) + row);
        float coeff = inv * inv * inv * part[0] / dim;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            mem.set(dx + i, mem.get(dx + i) + inv * mem.get(g + i) * mem.get(dy + i) - coeff * mem.get(x + i));
        }
    }

    /**
     * Partial gain gradients over chunks of rows, one thread per (chunk, column), written to
     * {@code partial[chunk * dim + column]}; {@code a}: partial, dout, x, rstd, rows, dim, chunkRows, chunks.
     */
    static void rmsnormGainPartial(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int gid = c.globalIdx;
        int rows = a.get(4), dim = a.get(5), chunkRows = a.get(6);
        if (gid < dim * a.get(7)) {
            int col = gid % dim, chunk = gid / dim;
            int dy = a.get(1), x = a.get(2), rstd = a.get(3);
            int end = (chunk + 1) * chunkRows;
            if (end > rows) end = rows;
            float s = 0f;
            for (int r = chunk * chunkRows; r < end; r++) {
                s += mem.get(dy + r * dim + col) * mem.get(x + r * dim + col) * mem.get(rstd + r);
            }
            mem.set(a.get(0) + chunk * dim + col, s);
        }
    }

    /** {@code dst[i] += sum_c partial[c * n + i]}, in chunk order; {@code a}: dst, partial, n, chunks. */
    static void columnSumAdd(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int n = a.get(2);
        if (i < n) {
            int partial = a.get(1);
            float s = 0f;
            for (int chunk = 0; chunk < a.get(3); chunk++) s += mem.get(partial + chunk * n + i);
            mem.set(a.get(0) + i, mem.get(a.get(0) + i) + s);
        }
    }

    // ---- embedding and loss ----

    /** {@code a}: out, table, tokens (int arena), rows, dim. */
    static void embedding(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int dim = a.get(4);
        if (i < a.get(3) * dim) {
            int row = i / dim, col = i % dim;
            int id = imem.get(a.get(2) + row);
            mem.set(a.get(0) + i, mem.get(a.get(1) + id * dim + col));
        }
    }

    /**
     * {@code dtable[token] += sum of dout rows with that token}, one thread per (distinct token, column), adding
     * the rows in ascending order; {@code a}: dtable, dout, distinct tokens, group starts, rows by token (all
     * three in the int arena), distinct count, dim.
     */
    static void embeddingBackward(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int gid = c.globalIdx;
        int dim = a.get(6);
        if (gid < a.get(5) * dim) {
            int u = gid / dim, col = gid % dim;
            int token = imem.get(a.get(2) + u);
            int starts = a.get(3), order = a.get(4), dy = a.get(1);
            int at = a.get(0) + token * dim + col;
            float acc = mem.get(at);
            for (int p = imem.get(starts + u); p < imem.get(starts + u + 1); p++) {
                acc += mem.get(dy + imem.get(order + p) * dim + col);
            }
            mem.set(at, acc);
        }
    }

    /**
     * Softmax cross-entropy, one work-group per row: loss to {@code losses[row]}, gradient over the logits in
     * place; {@code a}: losses, logits, targets (int arena), rows, vocab; {@code f}: gradScale.
     */
    static void crossEntropy(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        float[] part = c.allocateFloatLocalArray(ROW_GROUP);
        int row = c.groupIdx, lid = c.localIdx;
        int vocab = a.get(4);
        int z = a.get(1) + row * vocab;
        int target = imem.get(a.get(2) + row);
        float gradScale = f.get(0);
        float m = -3.0e38f;
        for (int i = lid; i < vocab; i += ROW_GROUP) m = TornadoMath.max(m, mem.get(z + i));
        part[lid] = m;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] = TornadoMath.max(part[lid], part[lid + stride]);
            c.localBarrier();
        }
        float max = part[0];
        c.localBarrier();
        float s = 0f;
        for (int i = lid; i < vocab; i += ROW_GROUP) s += TornadoMath.exp(mem.get(z + i) - max);
        part[lid] = s;
        c.localBarrier();
        for (int stride = ROW_GROUP / 2; stride > 0; stride >>= 1) {
            if (lid < stride) part[lid] += part[lid + stride];
            c.localBarrier();
        }
        float sum = part[0];
        float targetLogit = 0f;
        if (target >= 0) targetLogit = mem.get(z + target) - max;
        // Everyone has read the target logit before anyone overwrites it.
        c.localBarrier();
        if (lid == 0) mem.set(a.get(0) + row, target < 0 ? 0f : TornadoMath.log(sum) - targetLogit);
        float inv = gradScale / sum;
        for (int i = lid; i < vocab; i += ROW_GROUP) {
            float g = 0f;
            if (target >= 0) {
                g = TornadoMath.exp(mem.get(z + i) - max) * inv;
                if (i == target) g -= gradScale;
            }
            mem.set(z + i, g);
        }
    }

    // ---- reductions and optimizer ----

    /**
     * Grid-stride partial sums (or sums of squares when {@code a[2] != 0}) of {@code mem[a[0] ..+ a[1]]}, one
     * per work-group into {@code partial[group]}; the host adds the partials in double precision.
     */
    static void reduce(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, FloatArray partial) {
        float[] part = c.allocateFloatLocalArray(REDUCE_GROUP);
        int lid = c.localIdx;
        int at = a.get(0), n = a.get(1), squares = a.get(2);
        int threads = c.globalGroupSizeX;
        float s = 0f;
        for (int i = c.globalIdx; i < n; i += threads) {
            float v = mem.get(at + i);
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
    static void adamw(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        if (i < a.get(4)) {
            int p = a.get(0) + i, gi = a.get(1) + i, mi = a.get(2) + i, vi = a.get(3) + i;
            float lr = f.get(0), b1 = f.get(1), b2 = f.get(2), eps = f.get(3);
            float g = mem.get(gi) * f.get(7);
            float m = b1 * mem.get(mi) + (1f - b1) * g;
            float v = b2 * mem.get(vi) + (1f - b2) * g * g;
            mem.set(mi, m);
            mem.set(vi, v);
            mem.set(p, mem.get(p) * f.get(4) - lr * (m / f.get(5)) / (TornadoMath.sqrt(v) / f.get(6) + eps));
        }
    }

    // ---- multi-tensor: one launch over a list of tensors ----
    // The list is a table of T entries: [0, T] the running element counts (entry t starts at table[t], the list
    // ends at table[T]), then T offsets per operand, operand k at [T+1+k*T, T+1+(k+1)*T). a.get(0) is T.

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

    /** Zeroes every tensor of the list; one thread per element. */
    static void zeroList(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, IntArray table) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            mem.set(table.get(tensors + 1 + t) + i - table.get(t), 0f);
        }
    }

    /** Copies every tensor of the list into {@code stage}, one after another (a read of many tensors); one thread per element. */
    static void gatherList(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, IntArray table,
                           FloatArray stage) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            stage.set(i, mem.get(table.get(tensors + 1 + t) + i - table.get(t)));
        }
    }

    /**
     * Sums of squares of every tensor of the list: {@code a.get(1)} work-groups per tensor, group g summing a
     * grid-stride share of tensor {@code g / a.get(1)} into {@code partial[g]}.
     */
    static void sumOfSquaresList(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, IntArray table,
                                 FloatArray partial) {
        float[] part = c.allocateFloatLocalArray(REDUCE_GROUP);
        int lid = c.localIdx;
        int tensors = a.get(0), groupsPerTensor = a.get(1);
        int t = c.groupIdx / groupsPerTensor, share = c.groupIdx % groupsPerTensor;
        float s = 0f;
        if (t < tensors) {
            int at = table.get(tensors + 1 + t), n = table.get(t + 1) - table.get(t);
            for (int i = share * REDUCE_GROUP + lid; i < n; i += groupsPerTensor * REDUCE_GROUP) {
                float v = mem.get(at + i);
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
    static void adamwList(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f, IntArray table,
                          FloatArray decay) {
        int i = c.globalIdx;
        int tensors = a.get(0);
        if (i < table.get(tensors)) {
            int t = entryOf(table, tensors, i);
            int e = i - table.get(t);
            int p = table.get(tensors + 1 + t) + e, gi = table.get(2 * tensors + 1 + t) + e;
            int mi = table.get(3 * tensors + 1 + t) + e, vi = table.get(4 * tensors + 1 + t) + e;
            float lr = f.get(0), b1 = f.get(1), b2 = f.get(2), eps = f.get(3);
            float g = mem.get(gi) * f.get(7);
            float m = b1 * mem.get(mi) + (1f - b1) * g;
            float v = b2 * mem.get(vi) + (1f - b2) * g * g;
            mem.set(mi, m);
            mem.set(vi, v);
            mem.set(p, mem.get(p) * decay.get(t) - lr * (m / f.get(5)) / (TornadoMath.sqrt(v) / f.get(6) + eps));
        }
    }
}
